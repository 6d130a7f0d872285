// Runs an async function over items with at most `limit` in flight, keeping result order.
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * Iterates an async iterable while already fetching the next element, so reading page N+1
 * from the identity provider overlaps with writing page N to the targets.
 */
export async function* prefetch<T>(source: AsyncIterable<T>): AsyncIterable<T> {
  const it = source[Symbol.asyncIterator]();
  let pending = it.next();
  // Mark the promise handled: a read error surfaces when we await it, not as an unhandled rejection.
  pending.catch(() => undefined);
  for (;;) {
    const r = await pending;
    if (r.done) return;
    pending = it.next();
    pending.catch(() => undefined);
    yield r.value;
  }
}
