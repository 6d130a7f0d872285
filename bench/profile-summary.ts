// Summarises a V8 CPU profile (IDSYNC_BENCH_PROFILE writes one per scenario worker):
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]
// prints the self time by source file and the heaviest functions, so "where the time goes" can
// be read without a browser.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const file = process.argv[2]!;
const ti = process.argv.indexOf('--top');
const top = ti >= 0 ? Number(process.argv[ti + 1]) : 25;
const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
const total = (p.endTime - p.startTime) / 1000;
const place = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(src|bench|emulators|node_modules)\//, '$1/');
  return url || `(${n.callFrame.functionName || 'native'})`;
};
const files = new Map<string, number>();
const funcs = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const f = place(n).replace(/^node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*/, 'node_modules/$1');
  files.set(f, (files.get(f) ?? 0) + us);
  const fn = `${n.callFrame.functionName || '(anonymous)'} ${place(n)}:${n.callFrame.lineNumber + 1}`;
  funcs.set(fn, (funcs.get(fn) ?? 0) + us);
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${((us / 1000 / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
console.log(`${file}: ${total.toFixed(0)} ms profiled`);
show('self time by file', files);
show('self time by function', funcs);
