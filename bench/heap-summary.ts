// What a heap snapshot holds, by kind: `node --import tsx bench/heap-summary.ts FILE.heapsnapshot [top]`
// prints the self size and count of the objects of each constructor (strings, arrays, closures,
// Maps' backing stores...), largest first. For the snapshots the benchmark worker writes with
// IDSYNC_BENCH_HEAP_SNAPSHOT_MB (bench/worker.ts): what a run holds when its live heap is largest.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: bench/heap-summary.ts FILE.heapsnapshot [top]');
  process.exit(2);
}
const top = Number(process.argv[3] ?? 30);
const snap = JSON.parse(readFileSync(file, 'utf8')) as {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
};
const fields = snap.snapshot.meta.node_fields;
const width = fields.length;
const typeAt = fields.indexOf('type');
const nameAt = fields.indexOf('name');
const sizeAt = fields.indexOf('self_size');
const types = snap.snapshot.meta.node_types[0];
const byKind = new Map<string, { size: number; count: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + typeAt]!]!;
  const size = snap.nodes[i + sizeAt]!;
  // Strings and code are grouped by type; objects by constructor name.
  const kind = type === 'object' || type === 'closure' ? `${type} ${snap.strings[snap.nodes[i + nameAt]!]}` : type === 'array' || type === 'hidden' ? `${type} ${snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 40)}` : type;
  const k = byKind.get(kind) ?? { size: 0, count: 0 };
  k.size += size;
  k.count++;
  byKind.set(kind, k);
  total += size;
}
console.log(`${(total / 2 ** 20).toFixed(1)} MB in ${snap.nodes.length / width} objects`);
for (const [kind, k] of [...byKind].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  console.log(`${(k.size / 2 ** 20).toFixed(1).padStart(8)} MB ${String(k.count).padStart(9)}  ${kind}`);
}
