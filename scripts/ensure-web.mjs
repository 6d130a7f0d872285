#!/usr/bin/env node
// Builds the admin UI (web/dist) when it is missing or older than its sources, so `npm run demo`
// and `idsync serve` from a fresh checkout show the UI. Build output goes to stderr: stdout
// stays clean for commands such as `npm run demo -- --once --json`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const web = join(root, 'web');
const built = join(web, 'dist', 'index.html');

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    if (name === 'dist' || name === 'node_modules') continue;
    const full = join(dir, name);
    const s = statSync(full);
    t = Math.max(t, s.isDirectory() ? newest(full) : s.mtimeMs);
  }
  return t;
}

if (existsSync(built) && statSync(built).mtimeMs >= newest(web)) process.exit(0);
if (!existsSync(join(root, 'node_modules', 'vite'))) {
  console.error('the admin UI is not built and vite is not installed; run `npm ci` (with dev dependencies) first');
  process.exit(0); // the API and the CLI work without the UI
}
console.error('building the admin UI (web/dist) …');
const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(web, 'vite.config.ts'), '--logLevel', 'warn'], {
  stdio: ['ignore', process.stderr, process.stderr],
  cwd: root,
});
process.exit(r.status ?? 1);
