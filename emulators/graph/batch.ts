// POST /v1.0/$batch (JSON batching): up to 20 requests with case-insensitively unique ids,
// each run through the same routes as a direct call and answered with its own status,
// headers and body. Responses come back in reverse order, because Graph promises no order
// and a client that relies on it should fail here first. dependsOn is honoured: a request
// whose dependency failed gets 424. Inner requests can be made to fail on their own
// (script), the way Graph throttles each batched request separately.
import type { EmulatorRequest, EmulatorResponse, Router } from '../common/server.ts';
import { graphErrorBody } from './errors.ts';

export const MAX_BATCH = 20;

export interface InnerFault {
  /** Substring of the inner URL to match; any inner request when absent. */
  path?: string;
  status: number;
  /** Seconds, decimals allowed (Graph may send e.g. `1.5`). */
  retryAfterSeconds?: number;
  times?: number;
  /**
   * `batch`: the whole $batch is answered with `status` (429 or 424) and a Retry-After, every
   * inner request answered 429 (424 for the others on a 424) with its own Retry-After, none run.
   */
  scope?: 'request' | 'batch';
}

interface InnerRequest {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

export interface BatchStats {
  batches: number;
  innerRequests: number;
  innerFaults: number;
}

const invalid = (message: string): EmulatorResponse => ({ status: 400, body: graphErrorBody('BadRequest', message) });

export function batchHandler(router: Router, faults: InnerFault[], stats: BatchStats) {
  return async (outer: EmulatorRequest): Promise<EmulatorResponse> => {
    const body = outer.body as { requests?: unknown } | undefined;
    if (!body || typeof body !== 'object' || !Array.isArray(body.requests)) return invalid('Invalid batch payload format: expected {"requests": [...]}.');
    const requests = body.requests as InnerRequest[];
    if (requests.length === 0) return invalid('The batch request contains no requests.');
    if (requests.length > MAX_BATCH) return invalid(`Batch request has ${requests.length} requests, which exceeds the limit of ${MAX_BATCH} requests per batch.`);
    const seen = new Set<string>();
    for (const r of requests) {
      if (!r || typeof r.id !== 'string' || typeof r.method !== 'string' || typeof r.url !== 'string') {
        return invalid('Each batch request needs an id, a method and a url.');
      }
      const id = r.id.toLowerCase();
      if (seen.has(id)) return invalid(`Batch request ids must be unique; '${r.id}' is used more than once.`);
      seen.add(id);
      if (r.body !== undefined && !Object.keys(r.headers ?? {}).some((h) => h.toLowerCase() === 'content-type')) {
        return invalid(`Request '${r.id}' has a body but no Content-Type header.`);
      }
    }
    stats.batches++;
    const whole = takeFault(faults, stats, (f) => f.scope === 'batch');
    if (whole) return throttledBatch(requests, whole);
    const statusById = new Map<string, number>();
    const responses: Array<{ id: string; status: number; headers: Record<string, string>; body?: unknown }> = [];
    for (const r of requests) {
      stats.innerRequests++;
      const failedDependency = (r.dependsOn ?? []).find((d) => (statusById.get(d.toLowerCase()) ?? 200) >= 400);
      let res: EmulatorResponse;
      if (failedDependency) {
        res = { status: 424, body: graphErrorBody('BadRequest', `Depends on request '${failedDependency}', which failed.`) };
      } else {
        res = injectedFault(r, faults, stats) ?? (await runInner(router, outer, r));
      }
      statusById.set(r.id.toLowerCase(), res.status);
      const headers: Record<string, string> = { 'Content-Type': 'application/json', ...res.headers };
      responses.push({ id: r.id, status: res.status, headers, body: res.body });
    }
    responses.reverse();
    return { status: 200, body: { responses } };
  };
}

/** Takes one use of the first scripted fault that matches. */
function takeFault(faults: InnerFault[], stats: BatchStats, matches: (f: InnerFault) => boolean): InnerFault | undefined {
  const f = faults.find(matches);
  if (!f) return undefined;
  f.times = (f.times ?? 1) - 1;
  if (f.times <= 0) faults.splice(faults.indexOf(f), 1);
  stats.innerFaults++;
  return f;
}

const TOO_MANY = 'Too many requests. Please try again later.';

function faultResponse(status: number, retryAfterSeconds: number | undefined): EmulatorResponse {
  const headers: Record<string, string> = status === 429 || status === 424 ? { 'Retry-After': String(retryAfterSeconds ?? 1) } : {};
  const code = status === 429 ? 'TooManyRequests' : status === 424 ? 'FailedDependency' : status >= 500 ? 'serviceNotAvailable' : 'Request_BadRequest';
  const message = status === 429 ? TOO_MANY : status === 424 ? 'The request was not run: another request of the batch was throttled.' : 'Injected fault';
  return { status, headers, body: graphErrorBody(code, message) };
}

function injectedFault(r: InnerRequest, faults: InnerFault[], stats: BatchStats): EmulatorResponse | undefined {
  const f = takeFault(faults, stats, (x) => x.scope !== 'batch' && (!x.path || r.url.includes(x.path)));
  return f && faultResponse(f.status, f.retryAfterSeconds);
}

/** A $batch throttled as a whole: its own status and Retry-After, and every inner request throttled, none run. */
function throttledBatch(requests: InnerRequest[], f: InnerFault): EmulatorResponse {
  const retryAfter = String(f.retryAfterSeconds ?? 1);
  const responses = requests.map((r, i) => {
    const inner = faultResponse(i === 0 || f.status === 429 ? 429 : 424, f.retryAfterSeconds);
    return { id: r.id, status: inner.status, headers: { 'Content-Type': 'application/json', ...inner.headers }, body: inner.body };
  });
  return { status: f.status, headers: { 'Retry-After': retryAfter }, body: { responses } };
}

async function runInner(router: Router, outer: EmulatorRequest, r: InnerRequest): Promise<EmulatorResponse> {
  const rel = r.url.startsWith('/') ? r.url : `/${r.url}`;
  if (/^https?:/i.test(r.url)) return { status: 400, body: graphErrorBody('BadRequest', 'Batch request URLs must be relative, e.g. /users/{id}.') };
  const rawUrl = `/v1.0${rel}`;
  const url = new URL(rawUrl, outer.origin);
  const headers = { ...outer.headers };
  delete headers['content-type'];
  delete headers['content-length'];
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  const method = r.method.toUpperCase();
  const m = router.match(method, url.pathname);
  if (m === undefined) return { status: 404, body: graphErrorBody('Request_ResourceNotFound', `Resource not found for the segment in '${rel}'.`) };
  if (m === 'method') return { status: 405, body: graphErrorBody('Request_BadRequest', `Method ${method} is not allowed on '${rel}'.`) };
  const inner: EmulatorRequest = {
    method,
    path: url.pathname,
    rawUrl,
    query: url.searchParams,
    params: m.params,
    headers,
    body: r.body,
    rawBody: r.body === undefined ? '' : JSON.stringify(r.body),
    origin: outer.origin,
  };
  try {
    return await m.handler(inner);
  } catch (e) {
    return { status: 500, body: graphErrorBody('generalException', `Emulator error: ${(e as Error).message}`) };
  }
}
