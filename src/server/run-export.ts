// Downloads of a run's results: JSON (the run and every item as journaled) and CSV (one line per
// changed field, so a spreadsheet shows before → after side by side; items without changes get
// one line of their own).
import type { RunItem, RunRecord } from '../store/runs.ts';

const CSV_COLUMNS = ['seq', 'target', 'sourceId', 'user', 'operation', 'field', 'before', 'after', 'error'] as const;

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  // Quote always when needed; neutralise spreadsheet formulas (=, +, -, @) from directory data.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\r\n';
}

export function csvLines(items: RunItem[]): string {
  let out = '';
  for (const it of items) {
    const base = [it.seq, it.targetId, it.sourceId, it.label, it.operation];
    if (it.changes.length === 0) out += [...base, '', '', '', it.error].map(cell).join(',') + '\r\n';
    for (const ch of it.changes) out += [...base, ch.field, ch.before, ch.after, it.error].map(cell).join(',') + '\r\n';
  }
  return out;
}

/** Streams all items of a run in pages (a large run is never held in memory at once). */
export async function* allItems(fetchPage: (offset: number, limit: number) => Promise<{ items: RunItem[] }>, pageSize = 1000): AsyncGenerator<RunItem[]> {
  for (let offset = 0; ; offset += pageSize) {
    const { items } = await fetchPage(offset, pageSize);
    if (items.length) yield items;
    if (items.length < pageSize) return;
  }
}

export async function* jsonDownload(run: RunRecord, pages: AsyncIterable<RunItem[]>): AsyncGenerator<string> {
  yield `{"run":${JSON.stringify(run)},"items":[`;
  let first = true;
  for await (const page of pages) {
    for (const it of page) {
      yield (first ? '' : ',') + JSON.stringify(it);
      first = false;
    }
  }
  yield ']}\n';
}

export async function* csvDownload(pages: AsyncIterable<RunItem[]>): AsyncGenerator<string> {
  yield csvHeader();
  for await (const page of pages) yield csvLines(page);
}
