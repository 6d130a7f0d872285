// GET requests sent 20 at a time through Graph's JSON batching (`POST /$batch`), with
// throttling handled inside and around the batch. Graph throttles each batched request on its
// own: a batch may come back 200 with some inner 429s (each with its own Retry-After), inner
// 424s (failed dependency: not run because another was throttled), or be answered as a whole
// with 429 / 424. All of these are throttling, never a bad request: the requests that were not
// answered are sent again, alone, after the longest Retry-After given, and only those.
import type { HttpClient } from '../../core/http.ts';
import { retryAfterMs, realSleep } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { microsoftErrorMessage } from './errors.ts';

/** Graph's limit of requests per $batch. */
export const BATCH_LIMIT = 20;

export interface BatchRequest {
  url: string;
  headers?: Record<string, string>;
}

/** One inner answer as Graph gives it (status, headers, body). */
export interface BatchAnswer<T = unknown> {
  status: number;
  headers?: Record<string, string>;
  body?: T;
}

interface BatchEnvelope {
  responses?: Array<{ id: string; status: number; headers?: Record<string, string>; body?: unknown }>;
}

export interface BatchOptions {
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Backoff unit for failures without Retry-After (a listing's HttpClient view stops sending once the listing ends). */
  baseDelayMs?: number;
}

/** Statuses of an inner (or whole-batch) answer that mean "send it again later". */
export function isRetryable(status: number): boolean {
  return status === 429 || status === 424 || status >= 500;
}

export class GraphBatcher {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;

  constructor(
    private readonly graph: HttpClient,
    private readonly opts: BatchOptions = {},
  ) {
    this.sleep = opts.sleep ?? realSleep;
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.baseDelayMs = opts.baseDelayMs ?? 500;
  }

  /**
   * Sends up to BATCH_LIMIT GETs and returns each one's final answer, in the order given.
   * Throttled or failed ones (429, 424, 5xx, no answer) are retried until they get another
   * answer or `maxAttempts` is used up (then RATE_LIMITED or TRANSIENT); every other status is
   * returned for the caller to judge.
   */
  async send<T = unknown>(requests: readonly BatchRequest[], what: string): Promise<Array<BatchAnswer<T>>> {
    if (requests.length > BATCH_LIMIT) throw new IdsyncError('INTERNAL', `a $batch holds at most ${BATCH_LIMIT} requests`);
    const answers: Array<BatchAnswer<T> | undefined> = new Array(requests.length);
    let pending = requests.map((_, i) => i);
    for (let attempt = 1; ; attempt++) {
      const body = { requests: pending.map((i) => ({ id: String(i), method: 'GET', url: requests[i]!.url, ...(requests[i]!.headers ? { headers: requests[i]!.headers } : {}) })) };
      // A whole-batch 429 is waited out by the HTTP client (it pauses every request, as for any
      // 429); a whole-batch 424 is throttling too, which the client would call a bad request.
      const res = await this.graph.send<BatchEnvelope>({ method: 'POST', url: '/$batch', body, retryUnsafe: true, accept: [424] });
      const retry: number[] = [];
      let waitMs = 0;
      let lastFailure = '';
      const backoff = this.baseDelayMs * 2 ** Math.min(attempt - 1, 6);
      const responses = res.body?.responses;
      if (res.status !== 200 || !Array.isArray(responses)) {
        if (res.status === 200) throw new IdsyncError('TRANSIENT', 'Microsoft Graph answered a $batch request without responses', { hint: 'retry the run' });
        // Answered as a whole: every request waits for the longest Retry-After, inner or outer.
        lastFailure = `${res.status} ${microsoftErrorMessage(res.status, res.body) ?? ''}`.trim();
        waitMs = retryAfterMs(res.headers['retry-after']) ?? backoff;
        for (const r of Array.isArray(responses) ? responses : []) waitMs = Math.max(waitMs, retryAfterMs(headerValue(r.headers, 'retry-after')) ?? 0);
        retry.push(...pending);
      } else {
        const answered = new Set<number>();
        for (const r of responses) {
          const index = Number(r.id);
          if (!pending.includes(index) || answered.has(index)) continue;
          answered.add(index);
          if (isRetryable(r.status)) {
            retry.push(index);
            if (r.status !== 424 || !lastFailure) lastFailure = `${r.status} ${microsoftErrorMessage(r.status, r.body) ?? ''}`.trim();
            const after = retryAfterMs(headerValue(r.headers, 'retry-after'));
            waitMs = Math.max(waitMs, after ?? (r.status === 424 ? 0 : backoff));
          } else {
            answers[index] = { status: r.status, headers: r.headers, body: r.body as T };
          }
        }
        // Requests that got no answer at all are retried too.
        for (const i of pending) if (!answered.has(i)) retry.push(i);
      }
      if (retry.length === 0) return answers as Array<BatchAnswer<T>>;
      if (attempt >= this.maxAttempts) {
        throw new IdsyncError(lastFailure.startsWith('429') || lastFailure.startsWith('424') ? 'RATE_LIMITED' : 'TRANSIENT', `Microsoft Graph kept failing to ${what} (${lastFailure || 'no answer'}) after ${attempt} attempts`, {
          hint: 'Microsoft Graph is throttling or unavailable; retry the run later',
        });
      }
      await this.sleep(waitMs || backoff);
      pending = retry;
    }
  }
}

/** Runs `fn` on chunks of BATCH_LIMIT items, `concurrent` chunks at a time; the first failure stops the others from taking more. */
export async function inBatches<T>(items: readonly T[], concurrent: number, fn: (chunk: T[]) => Promise<void>): Promise<void> {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH_LIMIT) chunks.push(items.slice(i, i + BATCH_LIMIT));
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < chunks.length && !failed) {
      try {
        await fn(chunks[next++]!);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrent, chunks.length) }, worker));
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}
