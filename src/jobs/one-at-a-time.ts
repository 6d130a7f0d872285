// A process-local mutex per key: what must not interleave between the async steps of calls in
// one process (a count and the insert it allows). Across processes the PostgreSQL queue adds an
// advisory lock inside it (pg-boss-queue.ts); taking the local one first means one connection
// per process at most waits for that lock, so a burst cannot take the whole pool waiting.
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
