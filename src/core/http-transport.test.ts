// The HTTP client against a real server, for what its transport must keep whatever way it reads
// responses: the body whole and decoded as undici's body.text() does, headers as undici parses
// them, informational answers skipped, redirects not followed, a body cut after the headers
// reported as such, timeouts, aborts before and during a response (the connection really
// dropped), retries and 429 pauses, the recorder, and the caller's async context. Each case runs
// on a URL the client splits itself and on one it leaves to undici to parse.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AsyncLocalStorage } from 'node:async_hooks';
import { HttpClient, splitUrl, type HttpClientOptions, type RecordedRequest } from './http.ts';
import { IdsyncError } from './errors.ts';

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;
const routes = new Map<string, Route>();
const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const route = routes.get(decodeURIComponent(req.url!.split('?')[0]!).replace(/^\/(plain|odd path)/, ''));
      if (route) route(req, res, body);
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Both ways a URL can go: split by the client (plain) or parsed by undici (a space in it). */
const ways = [
  { name: 'split URL', prefix: '/plain' },
  { name: 'URL parsed by undici', prefix: '/odd path' },
];

function client(extra: Partial<HttpClientOptions> = {}): HttpClient {
  return new HttpClient({ service: 'Test', baseUrl: base, sleep: async () => undefined, retry: { maxRetries: 2 }, ...extra });
}

/** Routes `path` for the duration of `fn`, and the requests it received. */
async function withRoute<T>(path: string, route: Route, fn: () => Promise<T>): Promise<T> {
  routes.set(path, route);
  seen.length = 0;
  try {
    return await fn();
  } finally {
    routes.delete(path);
  }
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

const rejectsWith = (message: RegExp, check?: (e: IdsyncError) => void) => (e: unknown) => {
  assert.ok(e instanceof IdsyncError, `an IdsyncError, not ${String(e)}`);
  assert.match(e.message, message);
  check?.(e);
  return true;
};

test('the test URLs take the way they are named for', () => {
  assert.ok(splitUrl(`${base}/plain/x`), 'a plain URL is split by the client');
  assert.equal(splitUrl(`${base}/odd path/x`), undefined, 'a URL with a space is left to undici');
});

for (const way of ways) {
  const p = (path: string) => `${way.prefix}${path}`;

  test(`${way.name}: request headers and body go out, the answer comes back parsed, and the recorder sees it`, async () => {
    const recorded: RecordedRequest[] = [];
    const http = client({ authHeaders: () => ({ authorization: 'Bearer t0k' }), recorder: (r) => recorded.push(r) });
    try {
      const res = await withRoute(
        '/echo',
        (req, res, body) => json(res, 201, { got: JSON.parse(body) }, { 'set-cookie': ['a=1', 'b=2'], 'x-multi': ['one', 'two'], 'x-one': 'v' }),
        () => http.send({ method: 'POST', url: p('/echo'), query: { q: 'a b' }, body: { name: 'Jürgen' }, headers: { 'x-custom': 'yes' } }),
      );
      assert.equal(res.status, 201, 'the status');
      assert.deepEqual(res.body, { got: { name: 'Jürgen' } }, 'the JSON body, parsed');
      assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2'], 'a repeated header as a list');
      assert.deepEqual(res.headers['x-multi'], ['one', 'two'], 'another repeated header as a list');
      assert.equal(res.headers['x-one'], 'v', 'a single header as a string');
      assert.equal(res.headers['content-type'], 'application/json', 'header names lower-case');
      const got = seen[0]!;
      assert.equal(got.method, 'POST', 'the method');
      assert.equal(got.url, `${encodeURI(p('/echo'))}?q=a+b`, 'the path and query');
      assert.equal(got.headers.authorization, 'Bearer t0k', 'the auth header');
      assert.equal(got.headers['content-type'], 'application/json', 'the content type of a JSON body');
      assert.equal(got.headers.accept, 'application/json', 'accept');
      assert.equal(got.headers['x-custom'], 'yes', 'the caller header');
      assert.equal(recorded.length, 1, 'one request recorded');
      assert.equal(recorded[0]!.status, 201, 'recorded with its status');
      assert.equal(recorded[0]!.body, '{"name":"Jürgen"}', 'recorded with its body');
      assert.equal(recorded[0]!.headers.authorization, 'Bearer t0k', 'recorded with the headers as sent');
    } finally {
      await http.close();
    }
  });

  test(`${way.name}: a body in pieces, split inside a character and led by a byte-order mark, is one string`, async () => {
    const http = client();
    try {
      const text = '{"name":"Jürgen 😀 日本"}';
      const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
      const cut = bytes.indexOf(Buffer.from('😀')) + 2; // inside the emoji's four bytes
      const res = await withRoute(
        '/pieces',
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length
          res.write(bytes.subarray(0, cut));
          setTimeout(() => res.end(bytes.subarray(cut)), 20);
        },
        () => http.send({ method: 'GET', url: p('/pieces') }),
      );
      assert.deepEqual(res.body, { name: 'Jürgen 😀 日本' }, 'decoded whole, the mark dropped');
      const plain = await withRoute('/text', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('\ufeffhello'), () => http.send({ method: 'GET', url: p('/text') }));
      assert.equal(plain.body, 'hello', 'a text body, the mark dropped');
      const empty = await withRoute('/empty', (_req, res) => res.writeHead(204).end(), () => http.send({ method: 'DELETE', url: p('/empty') }));
      assert.equal(empty.status, 204, 'no content');
      assert.equal(empty.body, undefined, 'an empty body is no body');
    } finally {
      await http.close();
    }
  });

  test(`${way.name}: an informational answer is skipped, a redirect is an answer, not followed`, async () => {
    const http = client();
    try {
      const hinted = await withRoute(
        '/hints',
        (_req, res) => {
          res.writeEarlyHints({ link: '</x.css>; rel=preload' });
          json(res, 200, { ok: true });
        },
        () => http.send({ method: 'GET', url: p('/hints') }),
      );
      assert.equal(hinted.status, 200, 'the final status, not 103');
      assert.deepEqual(hinted.body, { ok: true }, 'the final body');
      assert.equal(hinted.headers.link, undefined, 'the early hints headers are not the answer');
      await withRoute(
        '/hint-then-drop',
        (_req, res) => {
          res.writeEarlyHints({ link: '</x.css>; rel=preload' }, () => setTimeout(() => res.socket?.destroy(), 10));
        },
        () => assert.rejects(http.send({ method: 'POST', url: p('/hint-then-drop'), body: {} }), rejectsWith(/could not be reached/, (e) => assert.equal(e.status, undefined, 'no status: no answer came'))),
      );
      await withRoute(
        '/moved',
        (_req, res) => res.writeHead(302, { location: '/elsewhere' }).end(),
        () => assert.rejects(http.send({ method: 'GET', url: p('/moved') }), rejectsWith(/answered 302/, (e) => assert.equal(e.status, 302, 'the redirect status'))),
      );
      assert.equal(seen.length, 1, 'the redirect was not followed');
      const accepted = await withRoute('/moved2', (_req, res) => res.writeHead(301, { location: '/x' }).end(), () => http.send({ method: 'GET', url: p('/moved2'), accept: [301] }));
      assert.equal(accepted.headers.location, '/x', 'an accepted redirect hands its location on');
    } finally {
      await http.close();
    }
  });

  test(`${way.name}: a body cut after the headers is retried when harmless, else reported as cut`, async () => {
    const http = client();
    const cutRoute: Route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 10);
    };
    try {
      let calls = 0;
      const res = await withRoute(
        '/cut-once',
        (req, res, body) => (++calls === 1 ? cutRoute(req, res, body) : json(res, 200, { whole: true })),
        () => http.send({ method: 'GET', url: p('/cut-once') }),
      );
      assert.deepEqual(res.body, { whole: true }, 'a GET cut once is retried and answered');
      assert.equal(calls, 2, 'asked twice');
      await withRoute('/cut', cutRoute, () =>
        assert.rejects(
          http.send({ method: 'POST', url: p('/cut'), body: { a: 1 } }),
          rejectsWith(/answered 200 for .* but the body was cut off/, (e) => {
            assert.equal(e.code, 'TRANSIENT', 'a transient failure');
            assert.equal(e.status, 200, 'with the status that had arrived');
          }),
        ),
      );
      assert.equal(seen.length, 1, 'a cut POST is not repeated');
    } finally {
      await http.close();
    }
  });

  test(`${way.name}: a server that answers nothing, or stops sending the body, times out`, async () => {
    const http = client({ timeoutMs: 150, retry: { maxRetries: 0 } });
    try {
      await withRoute('/silent', () => undefined, () =>
        assert.rejects(http.send({ method: 'GET', url: p('/silent') }), rejectsWith(/could not be reached at .*: timed out/)),
      );
      await withRoute(
        '/stalls',
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"a":');
        },
        () => assert.rejects(http.send({ method: 'GET', url: p('/stalls') }), rejectsWith(/answered 200 for .* but the body was cut off \(timed out\)/)),
      );
    } finally {
      server.closeAllConnections();
      await http.close();
    }
  });

  test(`${way.name}: an abort before the answer, during the body, or before sending ends the request and its connection`, { timeout: 10_000 }, async () => {
    const http = client();
    try {
      for (const phase of ['before headers', 'mid-body'] as const) {
        const abort = new AbortController();
        let closed!: () => void;
        const connectionClosed = new Promise<void>((r) => (closed = r));
        await withRoute(
          '/hang',
          (req, res) => {
            req.socket.once('close', () => closed());
            if (phase === 'mid-body') {
              res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
              res.write('{"a":', () => setTimeout(() => abort.abort(), 20));
            } else setTimeout(() => abort.abort(), 20);
          },
          () => assert.rejects(http.send({ method: 'GET', url: p('/hang'), signal: abort.signal }), rejectsWith(/was cancelled/, (e) => assert.equal(e.code, 'INTERNAL', 'cancelled'))),
        );
        await connectionClosed; // the transport dropped it: a hung test here means the abort did not reach the socket
        assert.equal(seen.length, 1, `${phase}: asked once, not retried`);
      }
      // Aborted while waiting for a connection (the only one is busy): never sent.
      const single = client({ connections: 1 });
      try {
        let release!: () => void;
        const busy = withRoute(
          '/busy-conn',
          (_req, res) => {
            release = () => json(res, 200, { first: 1 });
          },
          () => single.send({ method: 'GET', url: p('/busy-conn') }),
        );
        while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
        const waiting = new AbortController();
        const queued = single.send({ method: 'POST', url: p('/busy-conn'), body: {}, signal: waiting.signal });
        await new Promise((r) => setTimeout(r, 20));
        waiting.abort();
        release();
        await assert.rejects(queued, rejectsWith(/was cancelled/));
        assert.deepEqual((await busy).body, { first: 1 }, 'the request on the connection is answered');
        assert.equal(seen.length, 1, 'the queued request, aborted, never reached the server');
      } finally {
        await single.close();
      }
      const reason = new IdsyncError('TRANSIENT', 'the listing failed');
      const done = AbortSignal.abort(reason);
      await withRoute('/never', (_req, res) => json(res, 200, {}), () => assert.rejects(http.send({ method: 'GET', url: p('/never'), signal: done }), (e) => e === reason));
      assert.equal(seen.length, 0, 'an aborted request is not sent, and ends with the abort reason');
      const after = await withRoute('/after', (_req, res) => json(res, 200, { fine: 1 }), () => http.send({ method: 'GET', url: p('/after') }));
      assert.deepEqual(after.body, { fine: 1 }, 'the client works on after aborts');
    } finally {
      await http.close();
    }
  });

  test(`${way.name}: 429 waits out Retry-After, 5xx is retried when harmless, broken JSON is no answer`, async () => {
    const http = client();
    try {
      let calls = 0;
      const res = await withRoute(
        '/busy',
        (_req, res) => (++calls === 1 ? json(res, 429, { message: 'slow down' }, { 'retry-after': '0' }) : json(res, 200, { n: calls })),
        () => http.send({ method: 'POST', url: p('/busy'), body: {} }),
      );
      assert.deepEqual(res.body, { n: 2 }, 'answered after the pause, even for a POST');
      assert.equal(http.stats.rateLimited, 1, 'one 429 counted');
      calls = 0;
      const flaky = await withRoute('/flaky', (_req, res) => (++calls === 1 ? json(res, 502, {}) : json(res, 200, { ok: 1 })), () => http.send({ method: 'PUT', url: p('/flaky'), body: {} }));
      assert.deepEqual(flaky.body, { ok: 1 }, 'a PUT answered 502 once is retried');
      await withRoute('/down', (_req, res) => json(res, 503, { message: 'maintenance' }), () =>
        assert.rejects(http.send({ method: 'POST', url: p('/down'), body: {} }), rejectsWith(/answered 503 .*: maintenance/, (e) => assert.equal(e.code, 'TRANSIENT', 'transient'))),
      );
      assert.equal(seen.length, 1, 'a POST answered 503 is not repeated');
      calls = 0;
      const garbled = await withRoute(
        '/garbled',
        (_req, res) => (++calls === 1 ? res.writeHead(200, { 'content-type': 'application/json' }).end('{"cut":') : json(res, 200, { whole: 1 })),
        () => http.send({ method: 'GET', url: p('/garbled') }),
      );
      assert.deepEqual(garbled.body, { whole: 1 }, 'incomplete JSON is retried, never handed on');
    } finally {
      await http.close();
    }
  });

  test(`${way.name}: the caller's async context is kept across a request`, async () => {
    const http = client();
    const als = new AsyncLocalStorage<string>();
    try {
      await withRoute('/ctx', (_req, res) => setTimeout(() => json(res, 200, {}), 5), () =>
        als.run('run-7', async () => {
          await http.send({ method: 'GET', url: p('/ctx') });
          assert.equal(als.getStore(), 'run-7', 'the context after the answer');
        }),
      );
    } finally {
      await http.close();
    }
  });

  test(`${way.name}: many requests at once each get their own answer`, async () => {
    const http = client({ connections: 3 });
    try {
      const answers = await withRoute(
        '/n',
        (req, res) => {
          const n = Number(new URL(req.url!, base).searchParams.get('n'));
          setTimeout(() => json(res, 200, { n, pad: 'x'.repeat(n * 97) }), n % 7);
        },
        () => Promise.all(Array.from({ length: 60 }, (_, n) => http.send<{ n: number; pad: string }>({ method: 'GET', url: p('/n'), query: { n } }))),
      );
      answers.forEach((a, n) => {
        assert.equal(a.body.n, n, `answer ${n} is its own`);
        assert.equal(a.body.pad.length, n * 97, `answer ${n} whole`);
      });
    } finally {
      await http.close();
    }
  });
}

test('a header undici refuses fails the request before anything is sent, as undici words it', async () => {
  const http = client({ retry: { maxRetries: 0 } });
  try {
    for (const way of ways) {
      await withRoute('/bad-header', (_req, res) => json(res, 200, {}), () =>
        assert.rejects(http.send({ method: 'GET', url: `${way.prefix}/bad-header`, headers: { 'x-bad': 'line\nbreak' } }), rejectsWith(/could not be reached at .*UND_ERR_INVALID_ARG \(invalid x-bad header\)/)),
      );
      assert.equal(seen.length, 0, `${way.name}: nothing sent`);
    }
  } finally {
    await http.close();
  }
});

test('the headers as sent are the request headers with the auth headers over them, in that order', async () => {
  const recorded: RecordedRequest[] = [];
  const http = client({ authHeaders: () => ({ authorization: 'Basic b3A=', accept: 'application/vnd+json' }), recorder: (r) => recorded.push(r) });
  try {
    await withRoute('/h', (_req, res) => json(res, 200, {}), () => http.send({ method: 'PUT', url: '/plain/h', body: 'x', headers: { 'content-type': 'text/plain', 'x-mine': '1' } }));
    assert.deepEqual(Object.entries(recorded[0]!.headers), [['accept', 'application/vnd+json'], ['content-type', 'text/plain'], ['x-mine', '1'], ['authorization', 'Basic b3A=']], 'each key once, auth winning, first position kept');
    assert.equal(seen[0]!.headers.accept, 'application/vnd+json', 'the auth value went out');
    assert.equal(seen[0]!.headers['content-type'], 'text/plain', 'the caller content type is kept');
  } finally {
    await http.close();
  }
});

test('an auth header named __proto__ is a header as a spread makes it, not a prototype', async () => {
  const recorded: RecordedRequest[] = [];
  const odd = JSON.parse('{"__proto__": "p", "authorization": "Basic b3A="}') as Record<string, string>;
  const http = client({ authHeaders: () => odd, recorder: (r) => recorded.push(r) });
  try {
    await withRoute('/proto', (_req, res) => json(res, 200, {}), () => http.send({ method: 'GET', url: '/plain/proto' }));
    assert.deepEqual(Object.entries(recorded[0]!.headers), [['accept', 'application/json'], ['__proto__', 'p'], ['authorization', 'Basic b3A=']], 'an own key, in order');
    assert.equal(Object.getPrototypeOf(recorded[0]!.headers), Object.prototype, 'the prototype untouched');
  } finally {
    await http.close();
  }
});

test('a refused connection is retried even for a POST (the server never saw it), then reported', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const http = new HttpClient({ service: 'Test', baseUrl: `http://127.0.0.1:${port}`, sleep: async () => undefined, retry: { maxRetries: 2 } });
  try {
    await assert.rejects(http.send({ method: 'POST', url: '/x', body: {} }), rejectsWith(/could not be reached at .*ECONNREFUSED/));
    assert.equal(http.stats.retries, 2, 'retried as often as allowed');
  } finally {
    await http.close();
  }
});
