// Shared plumbing of every emulator: a small router on node:http(s), JSON and form bodies,
// a token-bucket rate limiter answering 429 with Retry-After, switchable faults (5xx, slow
// answers, dropped connections, scripted one-off failures, short or cut answers) and a control API under
// /_emulator/ so a test or a benchmark can steer an emulator running in another process.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { emulatorTls } from './tls.ts';
// Deterministic fault choices: the same seed gives the same pattern run to run.
import { rng32 as mulberry32 } from '../org/random.ts';

export interface EmulatorRequest {
  method: string;
  path: string;
  /** Raw path+query as received (used to echo nextLinks verbatim). */
  rawUrl: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON or form body; undefined when empty. */
  body: unknown;
  rawBody: string;
  /** Origin the client used, e.g. https://127.0.0.1:4431 */
  origin: string;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings as text. */
  body?: unknown;
}

export type Handler = (req: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class Router {
  private routes: Route[] = [];

  /** Pattern segments starting with `:` capture; a trailing `*` captures the rest as `rest`. */
  on(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    const segs = path.split('/').filter(Boolean);
    let pathMatched = false;
    for (const r of this.routes) {
      const params = matchParts(r.parts, segs);
      if (!params) continue;
      pathMatched = true;
      if (r.method === method) return { handler: r.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}

function matchParts(parts: string[], segs: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p === '*') {
      params.rest = segs.slice(i).map(safeDecode).join('/');
      return params;
    }
    const s = segs[i];
    if (s === undefined) return undefined;
    if (p.startsWith(':')) params[p.slice(1)] = safeDecode(s);
    else if (p !== s) return undefined;
  }
  return segs.length === parts.length ? params : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Faults a test can switch on. All default to off. */
export interface Faults {
  /** Fraction (0..1) of requests answered with `errorStatus`. */
  errorRate: number;
  errorStatus: number;
  /** Added to every response. */
  latencyMs: number;
  /** Fraction of requests whose connection is destroyed without an answer. */
  dropRate: number;
  /** Token bucket: `capacity` requests, refilled at `perSecond`; empty → 429 with Retry-After. */
  rateLimit?: { capacity: number; perSecond: number; retryAfterSeconds?: number };
  /** One-off scripted answers: the next request matching `path` (substring) gets `status`. */
  script: ScriptedFault[];
  /** Deterministic fault choices. */
  seed: number;
}

/**
 * A scripted fault. Without `answer` the request gets `status` (and `body`) instead of its real
 * answer. With `answer` the request is served for real and its answer is then spoiled (see
 * ShortAnswer). `pattern` (a regular expression on the raw path+query) narrows `path`; `skip`
 * lets that many matching requests through first, so "the third page" is repeatable.
 */
export interface ScriptedFault {
  method?: string;
  path?: string;
  pattern?: string;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  times?: number;
  skip?: number;
  drop?: boolean;
  answer?: ShortAnswer;
}

/**
 * Answers that look successful but are not the whole truth, as proxies, gateways and services
 * under stress produce them:
 * - `empty-page`: 200 with the JSON answer's `value` emptied and its `@odata.nextLink` removed,
 *   or a bare JSON list emptied and its `Link: rel="next"` header dropped (a list that claims to end here);
 * - `truncated`: 200 whose Content-Length announces the whole body, but the connection is
 *   closed after half of it;
 * - `cut`: a well-formed 200 whose body is only the first half of the JSON (Content-Length
 *   matches the cut body), as when a proxy buffers and forwards an interrupted answer.
 */
export type ShortAnswer = 'empty-page' | 'truncated' | 'cut';

export const NO_FAULTS: Faults = { errorRate: 0, errorStatus: 503, latencyMs: 0, dropRate: 0, script: [], seed: 1 };

export interface EmulatorStats {
  requests: number;
  writes: number;
  byRoute: Record<string, number>;
  rateLimited: number;
  faultsInjected: number;
}

export interface EmulatorOptions {
  name: string;
  router: Router;
  tls?: boolean;
  host?: string;
  port?: number;
  /** Vendor error body for a status (429, 5xx, 404 of unknown routes, ...). */
  errorBody: (status: number, message: string) => unknown;
  /** Extra headers on a 429 (vendor specific rate-limit headers). */
  rateLimitHeaders?: (retryAfterSeconds: number) => Record<string, string>;
  /** Paths that skip faults and the rate limiter (e.g. the token endpoint). */
  exempt?: (path: string) => boolean;
  /** Called by POST /_emulator/reset. */
  onReset?: () => void;
  /** Extra control routes (seeding, inspection) under /_emulator/. */
  control?: Router;
}

export interface RunningEmulator {
  name: string;
  url: string;
  port: number;
  /** PEM of the certificate to trust, when TLS is on. */
  ca?: string;
  faults: Faults;
  stats: EmulatorStats;
  setFaults(f: Partial<Faults>): void;
  resetStats(): void;
  /**
   * In-process tests: called after every write request (non-GET) has been applied and before
   * its answer is sent, with the number of writes served so far. A crash test kills its client
   * here, so the write lands while the client never learns of it.
   */
  onWrite(hook: ((writes: number) => void) | undefined): void;
  close(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions): Promise<RunningEmulator> {
  const faults: Faults = { ...NO_FAULTS, script: [] };
  const stats: EmulatorStats = { requests: 0, writes: 0, byRoute: {}, rateLimited: 0, faultsInjected: 0 };
  let bucket = { tokens: 0, at: Date.now() };
  let rng = mulberry32(faults.seed);
  let writeHook: ((writes: number) => void) | undefined;
  let applied = 0;

  const setFaults = (f: Partial<Faults>) => {
    Object.assign(faults, f);
    if (f.script) faults.script = f.script.map((s) => ({ ...s }));
    if (f.rateLimit) bucket = { tokens: f.rateLimit.capacity, at: Date.now() };
    if (f.seed !== undefined) rng = mulberry32(f.seed);
  };
  const resetStats = () => {
    Object.assign(stats, { requests: 0, writes: 0, byRoute: {}, rateLimited: 0, faultsInjected: 0 });
  };

  const tls = opts.tls ? await emulatorTls() : undefined;
  const listener = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const origin = `${tls ? 'https' : 'http'}://${req.headers.host ?? '127.0.0.1'}`;
    const url = new URL(req.url ?? '/', origin);
    const rawBody = await readBody(req);
    let body: unknown;
    if (rawBody) {
      const ct = String(req.headers['content-type'] ?? '');
      if (ct.includes('application/x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(rawBody));
      else {
        try {
          body = JSON.parse(rawBody);
        } catch {
          body = rawBody;
        }
      }
    }
    const base: Omit<EmulatorRequest, 'params'> = {
      method: req.method ?? 'GET',
      path: url.pathname,
      rawUrl: req.url ?? '/',
      query: url.searchParams,
      headers: req.headers,
      body,
      rawBody,
      origin,
    };

    if (url.pathname.startsWith('/_emulator/')) {
      return send(res, await control(base));
    }

    stats.requests++;
    if (base.method !== 'GET') stats.writes++;
    let spoil: ShortAnswer | undefined;
    const exempt = opts.exempt?.(url.pathname) ?? false;

    if (!exempt) {
      const scripted = takeScripted(faults.script, base.method, url.pathname, base.rawUrl);
      if (scripted?.answer) spoil = scripted.answer;
      else if (scripted) {
        stats.faultsInjected++;
        if (scripted.drop) return void req.socket.destroy();
        const status = scripted.status ?? 500;
        if (status === 429) stats.rateLimited++;
        return send(res, {
          status,
          headers: scripted.headers,
          body: scripted.body ?? opts.errorBody(status, 'Injected fault'),
        });
      }
      if (faults.rateLimit) {
        const rl = faults.rateLimit;
        const now = Date.now();
        bucket.tokens = Math.min(rl.capacity, bucket.tokens + ((now - bucket.at) / 1000) * rl.perSecond);
        bucket.at = now;
        if (bucket.tokens < 1) {
          stats.rateLimited++;
          const retryAfter = rl.retryAfterSeconds ?? Math.max(1, Math.ceil((1 - bucket.tokens) / rl.perSecond));
          return send(res, {
            status: 429,
            headers: { 'retry-after': String(retryAfter), ...opts.rateLimitHeaders?.(retryAfter) },
            body: opts.errorBody(429, 'Too many requests'),
          });
        }
        bucket.tokens -= 1;
      }
      if (faults.dropRate > 0 && rng() < faults.dropRate) {
        stats.faultsInjected++;
        return void req.socket.destroy();
      }
      if (faults.errorRate > 0 && rng() < faults.errorRate) {
        stats.faultsInjected++;
        return send(res, { status: faults.errorStatus, body: opts.errorBody(faults.errorStatus, 'Injected fault') });
      }
      if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
    }

    const m = opts.router.match(base.method, url.pathname);
    if (m === undefined) return send(res, { status: 404, body: opts.errorBody(404, `No route for ${url.pathname}`) });
    if (m === 'method') return send(res, { status: 405, body: opts.errorBody(405, `Method ${base.method} not allowed`) });
    const routeKey = `${base.method} ${routeName(url.pathname)}`;
    stats.byRoute[routeKey] = (stats.byRoute[routeKey] ?? 0) + 1;
    try {
      const answer = await m.handler({ ...base, params: m.params });
      if (base.method !== 'GET' && writeHook) writeHook(++applied);
      if (spoil) {
        stats.faultsInjected++;
        return spoilAnswer(res, answer, spoil);
      }
      send(res, answer);
    } catch (e) {
      send(res, { status: 500, body: opts.errorBody(500, `Emulator error: ${(e as Error).message}`) });
    }
  };

  const control = async (req: Omit<EmulatorRequest, 'params'>): Promise<EmulatorResponse> => {
    const path = req.path.slice('/_emulator'.length);
    if (path === '/faults' && req.method === 'GET') return { status: 200, body: faults };
    if (path === '/faults' && req.method === 'POST') {
      setFaults((req.body ?? {}) as Partial<Faults>);
      return { status: 200, body: faults };
    }
    if (path === '/stats' && req.method === 'GET') return { status: 200, body: stats };
    if (path === '/stats/reset' && req.method === 'POST') {
      resetStats();
      return { status: 204 };
    }
    if (path === '/reset' && req.method === 'POST') {
      setFaults({ ...NO_FAULTS, rateLimit: undefined, script: [] });
      resetStats();
      opts.onReset?.();
      return { status: 204 };
    }
    const m = opts.control?.match(req.method, path);
    if (m && m !== 'method') return m.handler({ ...req, params: m.params });
    return { status: 404, body: { error: `unknown control route ${path}` } };
  };

  const server = tls
    ? https.createServer({ key: tls.key, cert: tls.cert, keepAliveTimeout: 60_000 }, listener)
    : http.createServer({ keepAliveTimeout: 60_000 }, listener);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  return {
    name: opts.name,
    url: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    ca: tls?.cert,
    faults,
    stats,
    setFaults,
    resetStats,
    onWrite(hook) {
      writeHook = hook;
      applied = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The first scripted fault matching a request, counted down (and removed once used up); undefined while its `skip` lasts. */
function takeScripted(script: ScriptedFault[], method: string, pathname: string, rawUrl: string): ScriptedFault | undefined {
  const found = script.find(
    (s) =>
      (!s.method || s.method === method) &&
      (!s.path || pathname.includes(s.path) || rawUrl.includes(s.path)) &&
      (!s.pattern || new RegExp(s.pattern).test(rawUrl)),
  );
  if (!found) return undefined;
  if ((found.skip ?? 0) > 0) {
    found.skip!--;
    return undefined;
  }
  found.times = (found.times ?? 1) - 1;
  if (found.times <= 0) script.splice(script.indexOf(found), 1);
  return found;
}

/** Sends a real answer spoiled as `how` says (see ShortAnswer). */
function spoilAnswer(res: http.ServerResponse, answer: EmulatorResponse, how: ShortAnswer): void {
  if (how === 'empty-page') {
    const body = answer.body;
    if (body && typeof body === 'object' && Array.isArray((body as { value?: unknown }).value)) {
      const { '@odata.nextLink': _next, ...rest } = body as Record<string, unknown>;
      return send(res, { ...answer, body: { ...rest, value: [] } });
    }
    // A bare JSON list paged by Link headers (Okta): no items, and no rel="next" link.
    if (Array.isArray(body)) {
      const link = answer.headers?.link as string | string[] | undefined;
      const kept = (Array.isArray(link) ? link : link ? [link] : []).filter((l) => !/rel="?next"?/.test(l));
      return send(res, { ...answer, headers: { ...answer.headers, link: kept as unknown as string }, body: [] });
    }
    return send(res, answer);
  }
  const payload = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? '');
  const whole = Buffer.from(payload, 'utf8');
  const half = whole.subarray(0, Math.floor(whole.length / 2));
  const headers = { ...answer.headers, 'content-type': answer.headers?.['content-type'] ?? 'application/json; charset=utf-8' };
  if (how === 'cut') {
    res.writeHead(answer.status, { ...headers, 'content-length': String(half.length) });
    return void res.end(half);
  }
  res.writeHead(answer.status, { ...headers, 'content-length': String(whole.length) });
  res.write(half, () => res.destroy());
}

function routeName(path: string): string {
  // Collapse ids so stats group by endpoint: long hex/uuid/number-ish segments become :id.
  return path
    .split('/')
    .map((s) => (/^[0-9a-f-]{16,}$/i.test(s) || /^\d+$/.test(s) || s.includes('@') ? ':id' : s))
    .join('/');
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, r: EmulatorResponse): void {
  if (res.destroyed) return;
  const headers: Record<string, string> = { ...r.headers };
  let payload: string | undefined;
  if (r.body !== undefined) {
    if (typeof r.body === 'string') {
      payload = r.body;
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else {
      payload = JSON.stringify(r.body);
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    headers['content-length'] = String(Buffer.byteLength(payload));
  } else {
    headers['content-length'] = '0';
  }
  res.writeHead(r.status, headers);
  res.end(payload);
}
