// The one HTTP client every connector uses: keep-alive connection pool (undici), JSON in and
// out, retries with backoff for 5xx / timeouts / dropped connections, 429 handled by honouring
// Retry-After for the whole client (so a storm pauses everyone instead of hammering), and
// errors mapped to IdsyncError codes with the vendor's own message and never a credential.
import { setMaxListeners } from 'node:events';
import { Agent, EnvHttpProxyAgent, request as undiciRequest, type Dispatcher } from 'undici';
import { IdsyncError, type ErrorCode } from './errors.ts';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute URL, or a path appended to the client's baseUrl. */
  url: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON body (object) or a pre-encoded string/form. */
  body?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** Statuses that are answers, not errors (e.g. 404 when "not found" is expected). */
  accept?: number[];
  /** Retry non-idempotent requests too (default: only when the server never saw them, or GET/PUT/DELETE). */
  retryUnsafe?: boolean;
  /** Stops this request (in flight, waiting for a retry or for a 429 pause) when aborted. */
  signal?: AbortSignal;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After honoured; longer waits fail the request as RATE_LIMITED. */
  maxRetryAfterMs: number;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  status: number;
  /** The connector and target whose client sent it (set by the engine's runtime; metrics per target). */
  connector?: string;
  target?: string;
}

export interface HttpClientOptions {
  /** Name used in messages, e.g. "Microsoft Graph", "Jira". */
  service: string;
  baseUrl: string;
  /** Extra CA certificate (PEM) to trust, e.g. an emulator's or a company CA. */
  ca?: string;
  /** Headers added to every request (auth). Called per request so tokens can refresh. */
  authHeaders?: () => Promise<Record<string, string>> | Record<string, string>;
  /** Called once after a 401, so a cached token can be dropped before one retry. */
  onUnauthorized?: () => void;
  /** Turns a vendor error body into one readable sentence. */
  errorMessage?: (status: number, body: unknown) => string | undefined;
  timeoutMs?: number;
  connections?: number;
  retry?: Partial<RetryPolicy>;
  /** Observes every finished request (benchmarks replay them as the transport floor). */
  recorder?: (r: RecordedRequest) => void;
  /** Test seam for backoff waits. */
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_RETRY: RetryPolicy = { maxRetries: 6, baseDelayMs: 200, maxDelayMs: 10_000, maxRetryAfterMs: 120_000 };

export const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class HttpClient {
  readonly service: string;
  readonly baseUrl: string;
  private readonly dispatcher: Dispatcher;
  private readonly opts: HttpClientOptions;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  /** While a 429 is being honoured, every request waits until `until` (shared with withSignal views). */
  private readonly throttle = { until: 0 };
  /** Set on a withSignal view: every request of the view stops when it aborts. */
  private scopeSignal?: AbortSignal;
  /** Counters, read by tests, benchmarks and run summaries. */
  readonly stats = { requests: 0, writes: 0, retries: 0, rateLimited: 0 };

  constructor(opts: HttpClientOptions) {
    this.opts = opts;
    this.service = opts.service;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.sleep = opts.sleep ?? realSleep;
    const agentOptions = {
      connections: opts.connections ?? 32,
      keepAliveTimeout: 30_000,
      headersTimeout: opts.timeoutMs ?? 60_000,
      bodyTimeout: opts.timeoutMs ?? 60_000,
      connect: opts.ca ? { ca: opts.ca } : undefined,
    };
    // Companies often reach the internet through a proxy: HTTPS_PROXY / HTTP_PROXY / NO_PROXY
    // are honoured as curl does (through the proxy the extra CA applies to the tunnelled TLS).
    this.dispatcher = proxyConfigured()
      ? new EnvHttpProxyAgent({ ...agentOptions, requestTls: opts.ca ? { ca: opts.ca } : undefined })
      : new Agent(agentOptions);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /**
   * The same client (connection pool, throttling pause, stats) whose every request also stops
   * when `signal` aborts: a listing hands it to everything it starts, so a failed listing or a
   * cancelled run ends its read-ahead at once instead of letting it run for seconds.
   */
  withSignal(signal: AbortSignal | undefined): HttpClient {
    if (!signal) return this;
    const view = Object.create(this) as HttpClient;
    view.scopeSignal = this.scopeSignal ? AbortSignal.any([this.scopeSignal, signal]) : signal;
    // Every request of the view in flight listens to this one signal (read-ahead, batches and
    // member pages together are more than Node's default of 10); each listener is removed when
    // its request ends, so many listeners here are expected, not a leak.
    setMaxListeners(0, view.scopeSignal);
    return view;
  }

  resolve(url: string, query?: HttpRequest['query']): string {
    const full = /^https?:\/\//.test(url) ? url : this.baseUrl + (url.startsWith('/') ? url : `/${url}`);
    if (!query) return full;
    // A URL without a query of its own (a path this client builds, the same few thousand times
    // in a run) gets its parameters appended as URLSearchParams would write them, and its
    // normalized form from a small cache; anything else goes through URL as before.
    if (!full.includes('?') && !full.includes('#')) {
      const search = formEncode(query);
      if (search !== undefined) {
        let base = this.normalized.get(full);
        if (base === undefined) {
          base = new URL(full).href;
          if (this.normalized.size >= 500) this.normalized.clear();
          this.normalized.set(full, base);
        }
        return search ? `${base}?${search}` : base;
      }
    }
    const u = new URL(full);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** `new URL(x).href` of the query-less URLs this client sent to (see resolve). */
  private readonly normalized = new Map<string, string>();

  async get<T = unknown>(url: string, query?: HttpRequest['query'], accept?: number[]): Promise<HttpResponse<T>> {
    return this.send<T>({ method: 'GET', url, query, accept });
  }

  async send<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    const signal = req.signal && this.scopeSignal ? AbortSignal.any([req.signal, this.scopeSignal]) : (req.signal ?? this.scopeSignal);
    const url = this.resolve(req.url, req.query);
    let bodyText: string | undefined;
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (req.form) {
      bodyText = new URLSearchParams(req.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (req.body !== undefined) {
      bodyText = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const idempotent = req.method !== 'POST' && req.method !== 'PATCH';
    // Two separate budgets: being throttled (429) says nothing about the service failing, so
    // waiting out throttling must not use up the retries kept for 5xx and network errors.
    let attempt = 0;
    let throttled = 0;
    let reauthed = false;
    for (;;) {
      if (signal?.aborted) throw cancelled(signal, this.service);
      // Checked here first: most requests are not paused, and need no await (a tick each) for it.
      if (this.throttle.until > Date.now()) await this.waitWhilePaused(signal);
      let auth = this.opts.authHeaders?.();
      if (auth instanceof Promise) auth = await auth;
      // The headers as sent (and as the recorder sees them): one object per attempt.
      const sent = auth ? withAuth(headers, auth) : headers;
      let status: number;
      let resHeaders: Record<string, string | string[] | undefined>;
      let text: string;
      let answeredStatus: number | undefined; // set once the headers arrived: a later failure cut the body
      let reading: WholeResponse | undefined;
      try {
        this.stats.requests++;
        if (req.method !== 'GET') this.stats.writes++;
        // Timeouts come from the agent (headersTimeout / bodyTimeout); the signal only cancels.
        // What undici.request(url) does after parsing the URL, without parsing it for the URLs
        // this client builds (splitUrl); anything unusual is parsed by undici as before.
        const target = splitUrl(url);
        if (target) {
          reading = new WholeResponse(signal);
          await reading.read(this.dispatcher, { origin: target.origin, path: target.path, method: req.method, headers: sent, body: bodyText });
          status = reading.status!;
          resHeaders = reading.headers;
          text = reading.text;
        } else {
          const res = await undiciRequest(url, { method: req.method, headers: sent, body: bodyText, signal, dispatcher: this.dispatcher });
          status = res.statusCode;
          answeredStatus = status;
          resHeaders = res.headers;
          text = await res.body.text();
        }
      } catch (e) {
        answeredStatus ??= reading?.status;
        if (signal?.aborted) throw cancelled(signal, this.service);
        // Connection refused / reset / timeout. A request that may have reached the server is
        // only retried when repeating it is harmless.
        const neverSent = isConnectError(e);
        if (attempt < this.retry.maxRetries && (idempotent || neverSent || req.retryUnsafe)) {
          attempt++;
          this.stats.retries++;
          await this.sleepUnless(this.backoff(attempt), signal);
          continue;
        }
        if (answeredStatus !== undefined) {
          throw new IdsyncError('TRANSIENT', `${this.service} answered ${answeredStatus} for ${redactUrl(url)} but the body was cut off (${describeNetworkError(e)}), ${attempt + 1} times`, {
            status: answeredStatus,
            hint: hintFor('TRANSIENT', this.service),
            cause: e,
          });
        }
        throw new IdsyncError('TRANSIENT', `${this.service} could not be reached at ${redactUrl(url)}: ${describeNetworkError(e)}`, {
          hint: 'check the URL, the network and that the service is up',
          cause: e,
        });
      }
      this.opts.recorder?.({ method: req.method, url, headers: sent, body: bodyText, status });
      let body = parseBody(text, resHeaders['content-type']);
      if (body === BROKEN_JSON) {
        // A success whose JSON is cut or garbled (a proxy or gateway gave up half-way) is no
        // answer at all: retried like a dropped connection, never handed on as text.
        if (status >= 200 && status < 300) {
          if (attempt < this.retry.maxRetries && (idempotent || req.retryUnsafe)) {
            attempt++;
            this.stats.retries++;
            await this.sleep(this.backoff(attempt));
            continue;
          }
          throw new IdsyncError('TRANSIENT', `${this.service} answered ${status} for ${redactUrl(url)} with a body that is not complete JSON (${text.length} characters), ${attempt + 1} times`, {
            status,
            hint: hintFor('TRANSIENT', this.service),
          });
        }
        body = text;
      }

      if (req.accept?.includes(status) || (status >= 200 && status < 300)) {
        return { status, headers: resHeaders, body: body as T };
      }
      if (status === 401 && !reauthed && this.opts.onUnauthorized) {
        reauthed = true;
        this.opts.onUnauthorized();
        continue;
      }
      if (status === 429 || (status === 503 && resHeaders['retry-after'] !== undefined)) {
        this.stats.rateLimited++;
        const waitMs = retryAfterMs(resHeaders['retry-after']) ?? this.backoff(throttled + 1);
        if (throttled < this.retry.maxRetries * 3 && waitMs <= this.retry.maxRetryAfterMs) {
          throttled++;
          this.stats.retries++;
          this.pause(waitMs);
          continue;
        }
        throw this.toError(status, body, url, 'RATE_LIMITED');
      }
      if ((status >= 500 || status === 408) && attempt < this.retry.maxRetries && (idempotent || req.retryUnsafe)) {
        attempt++;
        this.stats.retries++;
        await this.sleepUnless(this.backoff(attempt), signal);
        continue;
      }
      throw this.toError(status, body, url);
    }
  }

  private toError(status: number, body: unknown, url: string, forced?: ErrorCode): IdsyncError {
    const vendor = this.opts.errorMessage?.(status, body) ?? genericMessage(body);
    const code: ErrorCode =
      forced ??
      (status === 401 || status === 403
        ? 'AUTH'
        : status === 404
          ? 'NOT_FOUND'
          : status === 409
            ? 'CONFLICT'
            : status >= 500 || status === 408
              ? 'TRANSIENT'
              : 'BAD_REQUEST');
    const where = `${this.service} answered ${status} for ${redactUrl(url)}`;
    return new IdsyncError(code, vendor ? `${where}: ${vendor}` : where, { status, hint: hintFor(code, this.service) });
  }

  private backoff(attempt: number): number {
    const exp = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }

  private pause(ms: number): void {
    this.throttle.until = Math.max(this.throttle.until, Date.now() + ms);
  }

  private async waitWhilePaused(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      const wait = this.throttle.until - Date.now();
      if (wait <= 0) return;
      await this.sleepUnless(wait, signal);
    }
  }

  /** Waits `ms`, or throws as soon as `signal` aborts. */
  private async sleepUnless(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (!signal) return this.sleep(ms);
    if (signal.aborted) throw cancelled(signal, this.service);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(cancelled(signal, this.service));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.sleep(ms), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
      aborted.catch(() => undefined);
    }
  }
}

/**
 * Undici's dispatch handler for one request whose response is wanted whole, as one string: what
 * `dispatcher.request()` + `body.text()` give, without the Readable stream, the async resource
 * and the promise plumbing they cost per response (idsync is CPU-bound in a full sync, and
 * sends a few hundred thousand requests). The same outcomes: headers parsed by undici, the body
 * decoded as UTF-8 without a byte-order mark, informational (1xx) answers skipped, and every
 * failure (network, timeout from the agent, cut body, abort) the error undici reports; `status`
 * says whether the headers had arrived before it. It is its own abort listener (handleEvent):
 * no closure per request.
 */
class WholeResponse implements Dispatcher.DispatchHandler {
  /** Set once the final headers arrived. */
  status: number | undefined;
  headers: Record<string, string | string[] | undefined> = {};
  /** The body, once the response ended. */
  text = '';
  private chunks: Buffer[] = [];
  private length = 0;
  private controller: Dispatcher.DispatchController | undefined;
  /** The abort reason when the signal fired before undici started the request. */
  private abortedBefore: Error | undefined;
  private resolve: (() => void) | undefined;
  private reject: ((e: Error) => void) | undefined;
  private readonly signal: AbortSignal | undefined;

  constructor(signal: AbortSignal | undefined) {
    this.signal = signal;
  }

  /** Sends the request; resolves when the whole response is in (status, headers, text). */
  read(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<void> {
    const signal = this.signal;
    if (signal?.aborted) this.abortedBefore = abortReason(signal);
    else signal?.addEventListener('abort', this, { once: true });
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      dispatcher.dispatch(options, this);
    });
  }

  /** The signal aborted: stop the request where it is (or as soon as undici starts it). */
  handleEvent(): void {
    const reason = abortReason(this.signal!);
    if (this.controller) this.controller.abort(reason);
    else this.abortedBefore = reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortedBefore) controller.abort(this.abortedBefore);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // informational: the answer follows
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  onResponseEnd(): void {
    this.signal?.removeEventListener('abort', this);
    this.text = decodeBody(this.chunks, this.length);
    this.chunks = [];
    this.resolve!();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.signal?.removeEventListener('abort', this);
    this.chunks = [];
    this.reject!(error);
  }
}

function abortReason(signal: AbortSignal): Error {
  return (signal.reason as Error | undefined) ?? new Error('aborted');
}

/** The body as undici's `body.text()` decodes it: UTF-8, a leading byte-order mark dropped. */
function decodeBody(chunks: Buffer[], length: number): string {
  if (length === 0) return '';
  const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
  const start = buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  return buffer.toString('utf8', start);
}

/**
 * `{ ...headers, ...auth }`, built by Object.assign, which V8 does several times faster than two
 * spreads (about 1 µs a request). A key `__proto__`, which assign would take for the prototype
 * where a spread makes it a header, keeps the spread.
 */
function withAuth(headers: Record<string, string>, auth: Record<string, string>): Record<string, string> {
  return Object.hasOwn(headers, '__proto__') || Object.hasOwn(auth, '__proto__') ? { ...headers, ...auth } : Object.assign({}, headers, auth);
}

/** The error a cancelled request ends with: the abort reason when it is an error, else a plain one. */
function cancelled(signal: AbortSignal, service: string): Error {
  return signal.reason instanceof IdsyncError ? signal.reason : new IdsyncError('INTERNAL', `the request to ${service} was cancelled`, { cause: signal.reason });
}

function proxyConfigured(): boolean {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((k) => !!process.env[k]);
}

function hintFor(code: ErrorCode, service: string): string | undefined {
  switch (code) {
    case 'AUTH':
      return `check the credentials and permissions configured for ${service}`;
    case 'RATE_LIMITED':
      return `${service} kept throttling; the run can be retried later`;
    case 'TRANSIENT':
      return `${service} had a temporary failure; retrying later usually works`;
    default:
      return undefined;
  }
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === '') return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Origin and path of a URL that `new URL()` would leave exactly as written (see splitUrl). */
const PLAIN_URL = /^(https?:\/\/[a-z0-9.-]+(?::(\d{1,5}))?)(\/[A-Za-z0-9\-._~!$&()*+,;=:@/%]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/%?]*)?)$/;
const CANONICAL_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** A path segment that URL parsing resolves: `.`, `..`, or either written with `%2e`. */
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:[/?]|$)/i;

/**
 * `{ origin, path }` as undici takes them from `new URL(url)` (origin, pathname + search), for a
 * URL whose parsing would change nothing: a lower-case host, no default port, no dot segments,
 * and only characters URL parsing keeps as they are. Undefined for anything else (the caller
 * lets undici parse it). Saves a URL object per request for the URLs clients build themselves.
 */
export function splitUrl(url: string): { origin: string; path: string } | undefined {
  const m = PLAIN_URL.exec(url);
  if (!m) return undefined;
  const [, origin, port, path] = m as unknown as [string, string, string | undefined, string];
  if (port !== undefined && (port.startsWith('0') || (port === '443' && origin.startsWith('https:')) || (port === '80' && origin.startsWith('http:')) || Number(port) > 65535)) return undefined;
  if (DOT_SEGMENT.test(path)) return undefined;
  // A host whose last label is a number is an IPv4 address to URL, which rewrites any but the
  // canonical form (127.1, 0x7f.0.0.1, 010.0.0.1).
  const host = origin.slice(origin.indexOf('//') + 2, port === undefined ? undefined : origin.lastIndexOf(':'));
  if (/(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/.test(host) && !CANONICAL_IPV4.test(host)) return undefined;
  // A query mark with nothing after it is dropped by URL (search is then '').
  if (path.endsWith('?')) return undefined;
  return { origin, path };
}

/**
 * Query parameters serialized exactly as URLSearchParams does (application/x-www-form-urlencoded:
 * space as '+', everything but letters, digits and `*-._` percent-encoded as UTF-8), in order,
 * undefined values left out. Undefined when a value is not well-formed Unicode (a lone
 * surrogate, which URLSearchParams would replace): the caller then takes the URL path.
 */
export function formEncode(query: NonNullable<HttpRequest['query']>): string | undefined {
  let out = '';
  for (const k in query) {
    const v = query[k];
    if (v === undefined) continue;
    let pair: string;
    try {
      pair = `${formComponent(k)}=${formComponent(String(v))}`;
    } catch {
      return undefined;
    }
    out = out ? `${out}&${pair}` : pair;
  }
  return out;
}

function formComponent(s: string): string {
  // encodeURIComponent leaves !'()~ as they are and writes a space as %20; the form encoding does not.
  const e = encodeURIComponent(s);
  return /[!'()~]|%20/.test(e) ? e.replace(/[!'()~]|%20/g, (m) => (m === '%20' ? '+' : `%${m.charCodeAt(0).toString(16).toUpperCase()}`)) : e;
}

/** A body that says (or looks like) JSON but does not parse: cut off or garbled on the way. */
const BROKEN_JSON = Symbol('broken JSON');

function parseBody(text: string, contentType: string | string[] | undefined): unknown {
  if (text === '') return undefined;
  const ct = String(contentType ?? '');
  if (ct.includes('json') || /^[\s]*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return BROKEN_JSON;
    }
  }
  return text;
}

function genericMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 300);
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string') return b.message;
    if (typeof b.error_description === 'string') return b.error_description;
  }
  return undefined;
}

/** Query values may carry secrets in odd APIs; keep the path and parameter names only. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    const names = [...new Set(u.searchParams.keys())];
    return names.length ? `${u.origin}${u.pathname}?${names.join('&')}` : `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function isConnectError(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

function describeNetworkError(e: unknown): string {
  const err = e as { code?: string; message?: string; name?: string };
  if (err?.name === 'TimeoutError' || err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT') return 'timed out';
  return err?.code ? `${err.code}${err.message ? ` (${err.message})` : ''}` : (err?.message ?? String(e));
}
