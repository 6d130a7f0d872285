import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router, startEmulator } from './server.ts';
import { HttpClient } from '../../src/core/http.ts';

const errorBody = (status: number, message: string) => ({ error: { status, message } });

test('emulator serves routes over TLS and the shared client retries 429 and 5xx to success', async () => {
  const router = new Router().on('GET', '/items/:id', (r) => ({ status: 200, body: { id: r.params.id } }));
  const emu = await startEmulator({ name: 't', router, tls: true, errorBody });
  const client = new HttpClient({ service: 'Test', baseUrl: emu.url, ca: emu.ca, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  try {
    emu.setFaults({ script: [{ path: '/items', status: 429, headers: { 'retry-after': '0' } }, { path: '/items', status: 503 }] });
    const res = await client.get<{ id: string }>('/items/42');
    assert.equal(res.body.id, '42');
    assert.equal(client.stats.retries, 2);
    assert.equal(emu.stats.faultsInjected, 2);
    assert.equal(emu.stats.rateLimited, 1);
  } finally {
    await client.close();
    await emu.close();
  }
});

test('a 404 maps to NOT_FOUND and a 401 to AUTH, with the vendor message and no credential', async () => {
  const router = new Router()
    .on('GET', '/missing', () => ({ status: 404, body: errorBody(404, 'no such thing') }))
    .on('GET', '/secret', () => ({ status: 401, body: { message: 'bad token' } }));
  const emu = await startEmulator({ name: 't', router, errorBody });
  const client = new HttpClient({
    service: 'Test',
    baseUrl: emu.url,
    authHeaders: () => ({ authorization: 'Bearer s3cr3t-value' }),
    errorMessage: (_s, b) => (b as { error?: { message?: string } })?.error?.message,
  });
  try {
    await assert.rejects(client.get('/missing'), (e: any) => e.code === 'NOT_FOUND' && /no such thing/.test(e.message));
    await assert.rejects(client.get('/secret?token=abc'), (e: any) => {
      assert.equal(e.code, 'AUTH');
      assert.doesNotMatch(e.message + (e.hint ?? ''), /s3cr3t|abc/);
      return true;
    });
  } finally {
    await client.close();
    await emu.close();
  }
});

test('the rate limiter answers 429 with Retry-After once the bucket is empty', async () => {
  const router = new Router().on('GET', '/x', () => ({ status: 200, body: {} }));
  const emu = await startEmulator({ name: 't', router, errorBody });
  emu.setFaults({ rateLimit: { capacity: 2, perSecond: 0.001, retryAfterSeconds: 7 } });
  try {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${emu.url}/x`);
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
      await r.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.equal(retryAfter, '7');
  } finally {
    await emu.close();
  }
});

test('a response slower than the timeout is retried and then reported as timed out', async () => {
  const router = new Router().on('GET', '/slow', () => ({ status: 200, body: {} }));
  const emu = await startEmulator({ name: 't', router, errorBody });
  // undici checks its timers about every half second, so the emulator is much slower than that.
  emu.setFaults({ latencyMs: 4000 });
  const client = new HttpClient({ service: 'Test', baseUrl: emu.url, timeoutMs: 200, retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 2 } });
  try {
    await assert.rejects(client.get('/slow'), (e: any) => e.code === 'TRANSIENT' && /timed out/.test(e.message));
    assert.equal(client.stats.retries, 1);
  } finally {
    await client.close();
    await emu.close();
  }
});

test('with HTTPS_PROXY set, requests go through the proxy (CONNECT tunnel), TLS trust included', async () => {
  const http = await import('node:http');
  const net = await import('node:net');
  const tunnels: string[] = [];
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, socket, head) => {
    tunnels.push(String(req.url));
    const [host, port] = String(req.url).split(':');
    const upstream = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const router = new Router().on('GET', '/ping', () => ({ status: 200, body: { pong: true } }));
  const emu = await startEmulator({ name: 't', router, tls: true, errorBody });
  const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
  process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  delete process.env.NO_PROXY;
  delete process.env.no_proxy;
  const client = new HttpClient({ service: 'Test', baseUrl: emu.url, ca: emu.ca });
  try {
    const res = await client.get<{ pong: boolean }>('/ping');
    assert.equal(res.body.pong, true);
    assert.deepEqual(tunnels, [`127.0.0.1:${emu.port}`]);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    await client.close();
    await emu.close();
    proxy.closeAllConnections();
    await new Promise<void>((r) => proxy.close(() => r()));
  }
});

test('short answers: an emptied page, a cut body and a truncated body, each at the scripted request only', async () => {
  const router = new Router().on('GET', '/list', () => ({ status: 200, body: { value: [1, 2, 3], '@odata.nextLink': 'next', extra: 'x'.repeat(200) } }));
  const emu = await startEmulator({ name: 't', router, errorBody });
  try {
    emu.setFaults({ script: [{ path: '/list', pattern: 'page=2', answer: 'empty-page', skip: 1 }] });
    const first = await (await fetch(`${emu.url}/list?page=2`)).json();
    assert.deepEqual(first.value, [1, 2, 3], 'skip lets the first matching request through');
    assert.deepEqual(await (await fetch(`${emu.url}/list?page=1`)).json().then((b: any) => b.value), [1, 2, 3], 'pattern: other pages are untouched');
    const emptied = await (await fetch(`${emu.url}/list?page=2`)).json();
    assert.deepEqual(emptied.value, []);
    assert.equal(emptied['@odata.nextLink'], undefined, 'an emptied page claims to be the last');
    assert.equal(emptied.extra.length, 200, 'the rest of the answer stays');

    emu.setFaults({ script: [{ path: '/list', answer: 'cut' }] });
    const cut = await fetch(`${emu.url}/list`);
    assert.equal(cut.status, 200);
    const text = await cut.text();
    assert.throws(() => JSON.parse(text), SyntaxError, 'a cut body is not JSON');
    assert.equal(Number(cut.headers.get('content-length')), Buffer.byteLength(text), 'a cut body is a well-formed HTTP answer');

    emu.setFaults({ script: [{ path: '/list', answer: 'truncated' }] });
    const truncated = await fetch(`${emu.url}/list`);
    assert.equal(truncated.status, 200);
    await assert.rejects(truncated.text(), 'the connection closes before Content-Length bytes arrived');
    assert.equal(emu.stats.faultsInjected, 3);
  } finally {
    await emu.close();
  }
});

test('the client retries a 200 whose JSON is cut or truncated, then fails TRANSIENT naming the path, never the query values', async () => {
  const router = new Router().on('GET', '/list', () => ({ status: 200, body: { value: [1, 2, 3] } }));
  const emu = await startEmulator({ name: 't', router, errorBody });
  const client = new HttpClient({ service: 'Test', baseUrl: emu.url, retry: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 3 } });
  try {
    emu.setFaults({ script: [{ path: '/list', answer: 'cut', times: 2 }, { path: '/list', answer: 'truncated', times: 1 }] });
    const ok = await client.get<{ value: number[] }>('/list');
    assert.deepEqual(ok.body.value, [1, 2, 3], 'the fourth answer is whole and used');
    assert.equal(client.stats.retries, 3);

    emu.setFaults({ script: [{ path: '/list', answer: 'cut', times: 100 }] });
    await assert.rejects(client.get('/list?token=s3cr3t'), (e: any) => {
      assert.equal(e.code, 'TRANSIENT');
      assert.match(e.message, /answered 200 for http:\/\/127\.0\.0\.1:\d+\/list\?token with a body that is not complete JSON/);
      assert.doesNotMatch(e.message, /s3cr3t/);
      return true;
    });
    emu.setFaults({ script: [{ path: '/list', answer: 'truncated', times: 100 }] });
    await assert.rejects(client.get('/list'), (e: any) => e.code === 'TRANSIENT' && /answered 200 for .*\/list but the body was cut off/.test(e.message));
  } finally {
    emu.setFaults({ script: [] });
    await client.close();
    await emu.close();
  }
});

test('an AbortSignal stops a request waiting out a 429 pause, and a withSignal view stops all of its requests, sharing the pause', async () => {
  const router = new Router().on('GET', '/items/:id', (r) => ({ status: 200, body: { id: r.params.id } }));
  const emu = await startEmulator({ name: 't', router, errorBody });
  const client = new HttpClient({ service: 'Test', baseUrl: emu.url, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  try {
    // Retry-After with decimals is honoured (1.5 s), and the wait ends at once when aborted.
    emu.setFaults({ script: [{ path: '/items', status: 429, headers: { 'retry-after': '1.5' }, times: 5 }] });
    const stop = new AbortController();
    const view = client.withSignal(stop.signal);
    const pending = view.get('/items/1');
    // Once the client has taken the 429 in (not only once the emulator sent it): it is then pausing.
    while (client.stats.rateLimited === 0) await new Promise((r) => setTimeout(r, 5));
    stop.abort();
    await assert.rejects(pending, (e: any) => e.code === 'INTERNAL' && /cancelled/.test(e.message));
    assert.equal(emu.stats.requests, 1, 'the throttled request was not sent again');
    await assert.rejects(view.get('/items/2'), /cancelled/, 'an aborted view sends nothing more');
    assert.equal(emu.stats.requests, 1);
    assert.equal(client.stats.rateLimited, 1, 'views share the stats of their client');
    const direct = new AbortController();
    direct.abort();
    await assert.rejects(client.send({ method: 'GET', url: '/items/3', signal: direct.signal }), /cancelled/);
  } finally {
    await client.close();
    await emu.close();
  }
});
