#!/usr/bin/env node
// Runs the whole suite with node's test runner (through tsx), after the set-up
// step that installs what the tests need on a fresh machine.
// Usage: npm test [-- <path filter> ...]   e.g. npm test -- src/mapping
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

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

const files = ['src', 'emulators', 'test']
  .flatMap((d) => { try { return findTests(join(root, d)); } catch { return []; } })
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();

if (files.length === 0) {
  console.error('no test files matched', filters.join(' '));
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, IDSYNC_LOG_LEVEL: process.env.IDSYNC_LOG_LEVEL ?? 'silent' } },
);
process.exit(result.status ?? 1);
