import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountIdFor, startAtlassianAdminEmulator, type AtlassianAdminEmulator } from './index.ts';

async function call(emu: AtlassianAdminEmulator, method: string, path: string, body?: unknown, key = emu.apiKey) {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

test('org listing, and managed accounts paged by a full-URL cursor until links.next disappears', async () => {
  const emu = await startAtlassianAdminEmulator({ pageSize: 2 });
  try {
    const orgs = await call(emu, 'GET', '/admin/v1/orgs');
    assert.equal(orgs.body.data[0].id, emu.orgId);
    const seen: string[] = [];
    let url: string | undefined = `/admin/v1/orgs/${emu.orgId}/users`;
    let pages = 0;
    while (url) {
      const page = await call(emu, 'GET', url.replace(emu.url, ''));
      assert.equal(page.status, 200);
      seen.push(...page.body.data.map((u: { email: string }) => u.email));
      url = page.body.links.next;
      pages++;
    }
    assert.equal(pages, 3);
    assert.equal(seen.length, 5, 'the unmanaged partner is not a managed account');
    assert.ok(!seen.includes('partner@partner.example.net'), "!seen.includes('partner@partner.example.net')");
    assert.equal((await call(emu, 'GET', `/admin/v1/orgs/other/users`)).status, 404);
    assert.equal((await call(emu, 'GET', '/admin/v1/orgs', undefined, 'bad-key')).status, 401);
  } finally {
    await emu.close();
  }
});

test('v2 directory search: exact email match (case-insensitive) with claimStatus; emails + searchTerm is a 400', async () => {
  const emu = await startAtlassianAdminEmulator();
  const path = `/admin/v2/orgs/${emu.orgId}/directories/-/users/search`;
  try {
    const partner = await call(emu, 'POST', path, { emails: ['PARTNER@partner.example.net'] });
    assert.equal(partner.body.data.length, 1);
    assert.equal(partner.body.data[0].claimStatus, 'unmanaged');
    assert.equal(partner.body.data[0].accountId, accountIdFor('partner@partner.example.net'));
    assert.equal((await call(emu, 'POST', path, { emails: ['ada@example'] })).body.data.length, 0, 'no prefix matching');
    assert.equal((await call(emu, 'POST', path, { emails: ['a@b.c'], searchTerm: 'a' })).status, 400);
    const paged = await call(emu, 'POST', path, { searchTerm: 'example.com', limit: 2 });
    assert.equal(paged.body.data.length, 2);
    const rest = await call(emu, 'POST', path, { searchTerm: 'example.com', limit: 2, cursor: paged.body.links.next });
    assert.notDeepEqual(rest.body.data[0].accountId, paged.body.data[0].accountId);
  } finally {
    await emu.close();
  }
});

test('profile: PATCH changes managed accounts, validates fields, and unmanaged accounts answer 403 {key:forbidden}', async () => {
  const emu = await startAtlassianAdminEmulator();
  const ada = accountIdFor('ada@example.com');
  try {
    const patched = await call(emu, 'PATCH', `/users/${ada}/manage/profile`, { nickname: 'Countess', extended_profile: { job_title: 'Mathematician', department: null } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.account.nickname, 'Countess');
    assert.deepEqual(patched.body.account.extended_profile, { job_title: 'Mathematician' });
    const bad = await call(emu, 'PATCH', `/users/${ada}/manage/profile`, { email: 'x@y.z', name: '' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.context.fieldViolations.map((v: { field: string }) => v.field).sort(), ['email', 'name']);
    const partner = accountIdFor('partner@partner.example.net');
    const denied = await call(emu, 'GET', `/users/${partner}/manage/profile`);
    assert.deepEqual([denied.status, denied.body], [403, { key: 'forbidden' }]);
    assert.equal((await call(emu, 'PATCH', `/users/${partner}/manage/profile`, { nickname: 'x' })).status, 403);
    assert.equal((await call(emu, 'GET', '/users/unknown/manage/profile')).status, 404);
    const privileges = await call(emu, 'GET', `/users/${ada}/manage`);
    assert.equal(privileges.body['profile.write']['extended_profile.job_title'].allowed, true);
  } finally {
    await emu.close();
  }
});

test('lifecycle disable/enable answer 204 and change account_status; the message is kept', async () => {
  const emu = await startAtlassianAdminEmulator();
  const grace = accountIdFor('grace@example.com');
  try {
    assert.equal((await call(emu, 'POST', `/users/${grace}/manage/lifecycle/disable`, { message: 'Left the company' })).status, 204);
    assert.equal(emu.store.accounts.get(grace)!.account_status, 'inactive');
    assert.equal(emu.store.accounts.get(grace)!.deactivationMessage, 'Left the company');
    assert.equal((await call(emu, 'POST', `/users/${grace}/manage/lifecycle/enable`)).status, 204);
    assert.equal((await call(emu, 'GET', `/users/${grace}/manage/profile`)).body.account.account_status, 'active');
  } finally {
    await emu.close();
  }
});

test('rate limiting answers 429 with Retry-After', async () => {
  const emu = await startAtlassianAdminEmulator();
  emu.setFaults({ rateLimit: { capacity: 1, perSecond: 0.001, retryAfterSeconds: 9 } });
  try {
    assert.equal((await call(emu, 'GET', '/admin/v1/orgs')).status, 200);
    const limited = await call(emu, 'GET', '/admin/v1/orgs');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '9');
  } finally {
    await emu.close();
  }
});

test('lifecycle delete: closed at once, out of every directory list, restorable by cancel-delete; SCIM accounts refused; unverified domains refused', async () => {
  const emu = await startAtlassianAdminEmulator({
    seed: {
      orgId: 'org-1',
      orgName: 'Org',
      accounts: [
        { email: 'ada@example.com', name: 'Ada' },
        { email: 'sam@example.com', name: 'Sam Scim', scim: true },
      ],
    },
  });
  try {
    const ada = accountIdFor('ada@example.com');
    const sam = accountIdFor('sam@example.com');
    assert.deepEqual((await call(emu, 'GET', `/users/${ada}/manage`)).body['lifecycle.delete'], { allowed: true });
    assert.equal((await call(emu, 'POST', `/users/${ada}/manage/lifecycle/delete`)).status, 204);
    assert.equal((await call(emu, 'GET', `/users/${ada}/manage/profile`)).body.account.account_status, 'closed');
    const search = await call(emu, 'POST', `/admin/v2/orgs/org-1/directories/-/users/search`, { emails: ['ada@example.com'] });
    assert.deepEqual(search.body.data, [], 'removed from the directory search');
    const list = await call(emu, 'GET', '/admin/v1/orgs/org-1/users');
    assert.ok(!list.body.data.some((u: { email: string }) => u.email === 'ada@example.com'), 'and from the managed-accounts list');
    assert.equal((await call(emu, 'POST', `/users/${ada}/manage/lifecycle/enable`)).status, 400, 'a deleted account needs the deletion cancelled first');
    assert.equal((await call(emu, 'POST', `/users/${ada}/manage/lifecycle/delete`)).status, 400, 'already scheduled');
    assert.equal((await call(emu, 'POST', `/users/${ada}/manage/lifecycle/cancel-delete`)).status, 204);
    assert.equal((await call(emu, 'GET', `/users/${ada}/manage/profile`)).body.account.account_status, 'active');

    assert.deepEqual((await call(emu, 'GET', `/users/${sam}/manage`)).body['lifecycle.delete'], { allowed: false, reason: { key: 'externalDirectory.scim' } });
    const refused = await call(emu, 'POST', `/users/${sam}/manage/lifecycle/delete`);
    assert.equal(refused.status, 403);
    assert.equal(refused.body[0].code, 'forbidden');

    const email = await call(emu, 'PUT', `/users/${ada}/manage/email`, { email: 'ada@unverified.example' });
    assert.equal(email.status, 403);
    assert.deepEqual(email.body, { key: 'forbidden.unclaimedDomain', context: { domain: 'unverified.example' } });
    assert.equal((await call(emu, 'PUT', `/users/${ada}/manage/email`, { email: 'sam@example.com' })).status, 409, 'an address another account holds');
    assert.equal((await call(emu, 'PUT', `/users/${ada}/manage/email`, { email: 'ada.l@example.com' })).status, 204);
  } finally {
    await emu.close();
  }
});
