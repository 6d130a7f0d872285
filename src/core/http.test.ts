// The HTTP client's URL building: the fast path (parameters appended to a cached, normalized base)
// must give exactly the URL the URL/URLSearchParams path gives, byte for byte, since vendors and
// their emulators read it and benchmarks replay it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpClient, formEncode, splitUrl } from './http.ts';

/** The URL as built before the fast path: URL + searchParams.set. */
function viaUrl(full: string, query: Record<string, string | number | boolean | undefined>): string {
  const u = new URL(full);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
}

const values = [
  '', 'plain', 'with space', 'a+b', 'a&b=c', 'ä ö ü ß', '日本語', '😀 emoji', "!'()*~-._", '%41%', 'x/y?z#w', 'tab\tnew\nline',
  'jane.doe@example.com', "accountEnabled eq true and startswith(displayName,'O''Brien')", '[]{}|\\^`"<>', '\u0000\u007f\u0080',
];

test('formEncode writes parameters exactly as URLSearchParams does', () => {
  for (const k of ['key', 'user name', '$filter', 'ä']) {
    for (const v of values) {
      const expected = new URLSearchParams({ [k]: v }).toString();
      assert.equal(formEncode({ [k]: v }), expected, `key ${JSON.stringify(k)}, value ${JSON.stringify(v)}`);
    }
  }
  assert.equal(formEncode({ a: 1, b: true, c: undefined, d: 'x y' }), 'a=1&b=true&d=x+y', 'numbers and booleans as text, undefined left out, order kept');
  assert.equal(formEncode({ a: 'lone \ud800 surrogate' }), undefined, 'a lone surrogate is left to URLSearchParams (it replaces it)');
});

test('resolve gives the same URL as URL + searchParams, for paths, absolute URLs and odd bases', async () => {
  const bases = ['https://jira.example.com', 'https://JIRA.Example.com:443/jira/', 'http://127.0.0.1:8080/context', 'https://graph.example.com/v1.0'];
  for (const baseUrl of bases) {
    const http = new HttpClient({ service: 'test', baseUrl });
    try {
      for (const path of ['/rest/api/2/user', 'rest/api/2/user/properties/department', '/users/a%20b', '/a b/c', '/users?$top=5', '/x#frag']) {
        for (const v of values) {
          const query = { userKey: v, maxResults: 100, includeInactive: true, skip: undefined };
          const full = baseUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
          // Twice: the second answer comes from the cached base.
          assert.equal(http.resolve(path, query), viaUrl(full, query), `${baseUrl} ${path} ${JSON.stringify(v)}`);
          assert.equal(http.resolve(path, query), viaUrl(full, query), `${baseUrl} ${path} ${JSON.stringify(v)} (cached)`);
        }
        assert.equal(http.resolve(path, { skip: undefined }), viaUrl(baseUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`), {}), 'no parameter: the normalized URL alone');
      }
      const absolute = 'https://other.example.com/v1.0/groups/abc/members';
      assert.equal(http.resolve(absolute, { $top: 999, $select: 'id,displayName' }), viaUrl(absolute, { $top: 999, $select: 'id,displayName' }), 'an absolute URL');
      assert.equal(http.resolve('/plain'), `${baseUrl.replace(/\/+$/, '')}/plain`, 'without a query the URL is as given');
    } finally {
      await http.close();
    }
  }
});

test('splitUrl gives what new URL() gives, or leaves the URL to undici', () => {
  const urls = [
    'https://jira.example.com/rest/api/2/user?key=JIRAUSER10001',
    'https://graph.example.com/v1.0/users?%24select=id%2CdisplayName&%24top=999',
    'https://graph.example.com/v1.0/users?$skiptoken=RFNwdAIAAQAAAB4=&$top=100',
    'http://127.0.0.1:38477/rest/api/2/user/properties/department?userKey=JIRAUSER10001',
    'https://127.0.0.1:35901/v1.0/groups/abc/members/microsoft.graph.user?$select=id&$top=999',
    'https://h.example/a?b?c', 'https://h.example/a/b/', 'https://h.example/', 'https://h.example/%7e/%41',
    // Parsing changes these (or they are not plain): undici gets the URL as before.
    'https://JIRA.example.com/x', 'https://h.example:443/x', 'http://h.example:80/x', 'https://h.example:0443/x', 'https://h.example:99999/x',
    'https://h.example/a/../b', 'https://h.example/a/./b', 'https://h.example/a/%2e%2E/b', 'https://h.example/a/..', 'https://h.example/a?',
    'https://127.1/x', 'https://0x7f.0.0.1/x', 'https://010.0.0.1/x', 'https://1.2.3/x', 'https://h.example/a b', "https://h.example/a?q='x'",
    'https://h.example/ä', 'https://h.example/a#frag', 'https://h.example', 'https://h.example/a\\b', 'https://h.example/a|b', 'ftp://h.example/x',
  ];
  let fast = 0;
  for (const url of urls) {
    const split = splitUrl(url);
    if (!split) continue;
    fast++;
    const u = new URL(url);
    assert.deepEqual(split, { origin: u.origin, path: u.pathname + u.search }, url);
  }
  assert.equal(fast, 9, 'the plain URLs (the first nine) take the fast path, the others do not');
  for (const url of urls.slice(9)) assert.equal(splitUrl(url), undefined, `${url} is left to undici`);
});
