// Keyset paging, the one loop every paged scan of the store uses: each page is read after the
// last key of the one before (so every page costs the same and memory stays flat), and a short
// page is the last (no empty query to find the end).

/** Pages of up to `size` rows: `fetch(after)` reads the rows after a key in key order; `keyOf` gives a row's key. */
export async function* keysetPages<R, K>(first: K, size: number, fetch: (after: K) => Promise<R[]>, keyOf: (row: R) => K): AsyncGenerator<R[]> {
  for (let after = first; ; ) {
    const rows = await fetch(after);
    if (rows.length > 0) yield rows;
    if (rows.length < size) return;
    after = keyOf(rows[rows.length - 1]!);
  }
}
