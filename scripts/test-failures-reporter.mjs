// A node:test reporter that, once the whole suite has ended, lists every failed test again with
// its file and the first lines of its error. The usual report scrolls the failures out of sight
// among 1,600 passing tests; CI keeps only the end of the output, so the end must say what failed.
import { relative } from 'node:path';

const LINES_PER_ERROR = 12;

function firstLines(error) {
  const cause = error?.cause ?? error;
  const text = String(cause?.stack ?? cause?.message ?? cause ?? 'no error given');
  // The runner's own frames say nothing about the failure.
  return text.split('\n').filter((l) => !/\(?node:(internal|async_hooks)/.test(l)).slice(0, LINES_PER_ERROR).map((l) => `    ${l}`).join('\n');
}

export default async function* failureSummary(source) {
  const failed = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const d = event.data;
    // A suite fails when a test in it fails; listing the test is enough. A file's own entry
    // (named after the file) is kept only when nothing in it was listed (it crashed outright).
    if (d.details?.type === 'suite') continue;
    failed.push({ file: d.file ? relative(process.cwd(), d.file) : '(unknown file)', name: d.name, isFile: d.name === d.file, error: d.details?.error });
  }
  const listed = new Set(failed.filter((f) => !f.isFile).map((f) => f.file));
  const shown = failed.filter((f) => !f.isFile || !listed.has(f.file));
  if (shown.length === 0) return;
  yield `\n# ${shown.length} failed test${shown.length === 1 ? '' : 's'}:\n`;
  for (const f of shown) yield `# ✗ ${f.file} › ${f.isFile ? '(the file itself)' : f.name}\n${firstLines(f.error)}\n`;
}
