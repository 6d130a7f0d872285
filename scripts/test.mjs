#!/usr/bin/env node
// Runs the whole suite with node's test runner (through tsx), after the set-up
// step that installs what the tests need on a fresh machine.
// Usage: npm test [-- <path filter> ...]   e.g. npm test -- src/mapping
//        npm test -- --record-timings      also records each file's seconds in scripts/test-timings.json
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const TIMINGS = join(root, 'scripts/test-timings.json');
const record = process.argv.includes('--record-timings');
const filters = process.argv.slice(2).filter((a) => a !== '--record-timings');

const setup = spawnSync('bash', [join(root, 'scripts/setup.sh')], { stdio: 'inherit' });
if (setup.status !== 0) {
  console.error('test set-up failed (scripts/setup.sh); see the messages above');
  process.exit(setup.status ?? 1);
}

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

// The runner starts files in the order given, a few at a time. Longest first (by the seconds each
// took in a recorded run), so the last minutes are not one long file running alone; a file not
// recorded yet may be long, so it starts first. Only the order changes, never what runs.
const seconds = existsSync(TIMINGS) ? JSON.parse(readFileSync(TIMINGS, 'utf8')) : {};
const weight = (f) => seconds[f] ?? Infinity;
const files = ['src', 'emulators', 'test']
  .flatMap((d) => { try { return findTests(join(root, d)); } catch { return []; } })
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort()
  .sort((a, b) => weight(b) - weight(a) || (a < b ? -1 : 1));

if (files.length === 0) {
  console.error('no test files matched', filters.join(' '));
  process.exit(1);
}

// Files at once: most of the suite waits on emulators, servers and child processes rather than
// computing, so a 2-core machine runs more than two files at once; IDSYNC_TEST_CONCURRENCY
// overrides it (e.g. 1 to debug a file's interplay with another).
const concurrency = Number(process.env.IDSYNC_TEST_CONCURRENCY ?? 3);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`IDSYNC_TEST_CONCURRENCY must be a whole number of files at once (1 or more), not "${process.env.IDSYNC_TEST_CONCURRENCY}"`);
  process.exit(2);
}

// node's usual output (spec on a terminal, tap otherwise), then the failures listed again at the
// end (CI shows only the end of the output), and with --record-timings each file's seconds.
const recorded = record ? join(mkdtempSync(join(tmpdir(), 'idsync-test-timings-')), 'timings.json') : undefined;
const reporters = [
  '--test-reporter', process.stdout.isTTY ? 'spec' : 'tap', '--test-reporter-destination', 'stdout',
  '--test-reporter', join(root, 'scripts/test-failures-reporter.mjs'), '--test-reporter-destination', 'stdout',
  ...(recorded ? ['--test-reporter', join(root, 'scripts/test-timings-reporter.mjs'), '--test-reporter-destination', recorded] : []),
];
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...reporters, ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, IDSYNC_LOG_LEVEL: process.env.IDSYNC_LOG_LEVEL ?? 'silent' } },
);
if (recorded) {
  // Merged into what was recorded before, so a run of some files keeps the others' seconds.
  const now = JSON.parse(readFileSync(recorded, 'utf8'));
  const merged = Object.fromEntries(Object.entries({ ...seconds, ...now }).filter(([f]) => existsSync(join(root, f))).sort(([a], [b]) => (a < b ? -1 : 1)));
  writeFileSync(TIMINGS, `${JSON.stringify(merged, null, 1)}\n`);
  rmSync(join(recorded, '..'), { recursive: true, force: true });
  console.error(`recorded the seconds of ${Object.keys(now).length} files in ${relative(root, TIMINGS)}`);
}
process.exit(result.status ?? 1);
