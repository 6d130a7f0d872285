// The transport floor: the time a bare HTTP client needs for exactly the requests a sync sent.
// Reads that page through the identity provider form a chain (each page names the next), so
// they replay one after another; every other request replays with the sync's concurrency.
// The ratio sync time / floor time is then what idsync itself costs on top of the network.
import { Agent, request } from 'undici';
import type { RecordedRequest } from '../src/core/http.ts';

export interface FloorOptions {
  concurrency: number;
  ca?: string;
  /** Requests that must replay sequentially (paged reads): true for a chain element. */
  isChained: (r: RecordedRequest) => boolean;
  /**
   * Also parse each JSON answer, as any client that uses the data must: a second, less optimistic
   * floor reported beside the first (never instead of it: the goals are set against the first).
   */
  parse?: boolean;
}

export async function replayFloor(recorded: RecordedRequest[], opts: FloorOptions): Promise<number> {
  const agent = new Agent({ connections: Math.max(opts.concurrency, 4) + 2, connect: opts.ca ? { ca: opts.ca } : undefined });
  const chain = recorded.filter(opts.isChained);
  const rest = recorded.filter((r) => !opts.isChained(r));
  const send = async (r: RecordedRequest) => {
    const res = await request(r.url, { method: r.method as 'GET', headers: r.headers, body: r.body, dispatcher: agent });
    if (opts.parse && String(res.headers['content-type'] ?? '').includes('json')) {
      const text = await res.body.text();
      if (text) JSON.parse(text);
    } else await res.body.arrayBuffer();
  };
  const started = performance.now();
  const chainDone = (async () => {
    for (const r of chain) await send(r);
  })();
  let next = 0;
  const workers = Array.from({ length: Math.max(1, opts.concurrency) }, async () => {
    while (next < rest.length) await send(rest[next++]!);
  });
  await Promise.all([chainDone, ...workers]);
  const ms = performance.now() - started;
  await agent.close();
  return ms;
}
