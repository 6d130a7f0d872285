// A node:test reporter that writes how long each test file took (wall clock, its process
// included), as the JSON scripts/test.mjs reads to start the longest files first. Used by
// `npm test -- --record-timings`, which writes scripts/test-timings.json.
import { relative } from 'node:path';

export default async function* fileTimings(source) {
  const seconds = {};
  for await (const event of source) {
    const d = event.data;
    // A file's own test (named after the file) completes once, when its process has ended.
    if (event.type === 'test:complete' && d?.file && d.name === d.file) {
      seconds[relative(process.cwd(), d.file)] = Math.round((d.details?.duration_ms ?? 0) / 100) / 10;
    }
  }
  const sorted = Object.fromEntries(Object.entries(seconds).sort(([a], [b]) => a.localeCompare(b)));
  yield `${JSON.stringify(sorted, null, 1)}\n`;
}
