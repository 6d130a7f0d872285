// Requests to the Okta management API: paced by the rate-limit headers (pacer.ts), 429s
// waited out until the window resets, and lists followed through their Link rel="next"
// headers. A list answer that is not an array is a failure, never an empty page.
import type { HttpClient, HttpResponse } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { endpointOf, type RatePacer } from './pacer.ts';

/** 429s waited out for one request before it fails as RATE_LIMITED. */
const MAX_THROTTLED = 10;

export class OktaApi {
  /** Okta's clock (epoch ms, from the Date header) at its latest answer: incremental reads start from it. */
  serverTime?: number;

  constructor(
    readonly http: HttpClient,
    readonly pacer: RatePacer,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
    readonly signal?: AbortSignal,
  ) {}

  /** The same API whose requests also stop when `signal` aborts. */
  withSignal(signal: AbortSignal | undefined): OktaApi {
    if (!signal) return this;
    return new OktaApi(this.http.withSignal(signal), this.pacer, this.sleep, this.signal ? AbortSignal.any([this.signal, signal]) : signal);
  }

  async get<T>(url: string, query?: Record<string, string | number | undefined>, accept: number[] = []): Promise<HttpResponse<T>> {
    const full = this.http.resolve(url, query);
    const endpoint = endpointOf(full);
    for (let throttled = 0; ; throttled++) {
      await this.pacer.ready(endpoint, this.signal);
      const res = await this.http.send<T>({ method: 'GET', url: full, accept: [429, ...accept] });
      this.pacer.observe(endpoint, res.headers);
      const date = Date.parse(String(res.headers.date ?? ''));
      if (!Number.isNaN(date)) this.serverTime = date;
      if (res.status !== 429) return res;
      if (throttled >= MAX_THROTTLED) {
        throw new IdsyncError('RATE_LIMITED', `Okta kept answering 429 (E0000047) for ${endpoint}`, { status: 429, hint: 'another integration is using the same rate limit; raise the rate-limit reserve, ask Okta for a higher limit, or run later' });
      }
      this.pacer.waits++;
      await this.sleep(this.pacer.afterTooMany(res.headers), this.signal);
    }
  }

  /**
   * Every page of a list, following Link rel="next" until there is none. Okta gives no count
   * to check a listing against, so the answer that ends it is asked for once more: a one-off
   * empty or short answer that dropped its rel="next" (a proxy, a node under stress) then shows
   * as the second answer carrying more, and the listing goes on from there.
   */
  async *pages<T extends { id?: unknown }>(url: string, query?: Record<string, string | number | undefined>): AsyncIterable<T[]> {
    let current = this.http.resolve(url, query);
    let res = await this.listAnswer<T>(current);
    for (;;) {
      let next = nextLink(res.headers.link);
      let items = res.body;
      if (!next) {
        const again = await this.listAnswer<T>(current);
        const seen = new Set(items.map((x) => x.id));
        const more = again.body.filter((x) => !seen.has(x.id));
        next = nextLink(again.headers.link);
        items = [...items, ...more];
      }
      yield items;
      if (!next) return;
      current = next;
      res = await this.listAnswer<T>(next);
    }
  }

  private async listAnswer<T>(url: string): Promise<HttpResponse<T[]>> {
    const res = await this.get<T[]>(url);
    if (!Array.isArray(res.body)) throw new IdsyncError('TRANSIENT', `Okta answered ${endpointOf(url)} with something other than a list`, { hint: 'retry the run' });
    return res;
  }
}

/** The rel="next" URL of Okta's Link headers (separate headers, or one joined by commas). */
export function nextLink(link: string | string[] | undefined): string | undefined {
  const all = Array.isArray(link) ? link.join(', ') : (link ?? '');
  for (const part of all.split(/,(?=\s*<)/)) {
    const m = /<([^>]+)>\s*;(.*)/.exec(part.trim());
    if (m && /rel="?next"?/.test(m[2]!)) return m[1];
  }
  return undefined;
}
