// idsync's heap growth (src/core/heap-growth.ts): the `idsync` command applies it before anything
// else loads, and an administrator's own heap flags (NODE_OPTIONS or node's command line) win.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/core/heap-growth.ts';
import { runCommand } from './processes.ts';

const OURS = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
const probe = new URL('./heap-growth-probe.mjs', import.meta.url).pathname;
const idsync = (env: Record<string, string | undefined>, nodeArgs: string[] = []) =>
  runCommand(process.execPath, ['--import', probe, ...nodeArgs, 'bin/idsync.mjs', '--version'], env);

test('the idsync command sets its heap growth when the administrator gave no heap flag', async () => {
  const o = await idsync({ NODE_OPTIONS: '--enable-source-maps', IDSYNC_HEAP_GROWING_PERCENT: undefined });
  assert.equal(o.code, 0, o.stderr);
  assert.match(o.stderr, new RegExp(`^v8 flags set: ${OURS}$`, 'm'));
});

test("the administrator's NODE_OPTIONS or node flags win: idsync sets no V8 flag", async () => {
  for (const [env, args] of [
    [{ NODE_OPTIONS: '--max-old-space-size=1024' }, []],
    [{ NODE_OPTIONS: '' }, ['--heap_growing_percent=20']],
    [{ NODE_OPTIONS: '', IDSYNC_HEAP_GROWING_PERCENT: '0' }, []],
  ] as const) {
    const o = await idsync(env, [...args]);
    assert.equal(o.code, 0, o.stderr);
    assert.doesNotMatch(o.stderr, /v8 flags set/, `${JSON.stringify(env)} ${args.join(' ')}`);
  }
});

test('IDSYNC_HEAP_GROWING_PERCENT chooses the growth; anything but a whole number is a usage error', async () => {
  const chosen = await idsync({ NODE_OPTIONS: '', IDSYNC_HEAP_GROWING_PERCENT: '30' });
  assert.equal(chosen.code, 0, chosen.stderr);
  assert.match(chosen.stderr, /^v8 flags set: --heap-growing-percent=30$/m);
  const wrong = await idsync({ NODE_OPTIONS: '', IDSYNC_HEAP_GROWING_PERCENT: '1.5x' });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /IDSYNC_HEAP_GROWING_PERCENT must be a whole number/);
  assert.doesNotMatch(wrong.stderr, /v8 flags set/);
});

test('which flags count as the administrator deciding the heap', () => {
  assert.equal(heapGrowthFlag({}, []), OURS);
  assert.equal(heapGrowthFlag({ NODE_OPTIONS: '--enable-source-maps --import tsx' }, ['--cpu-prof']), OURS);
  assert.equal(heapGrowthFlag({ NODE_OPTIONS: '--max-old-space-size=1024' }, []), undefined);
  assert.equal(heapGrowthFlag({ NODE_OPTIONS: '--trace-gc --max_old_space_size=900' }, []), undefined);
  assert.equal(heapGrowthFlag({}, ['--max-heap-size=900']), undefined);
  assert.equal(heapGrowthFlag({}, ['--optimize-for-size']), undefined);
  // The administrator's flag wins over the variable too.
  assert.equal(heapGrowthFlag({ IDSYNC_HEAP_GROWING_PERCENT: '30' }, ['--heap-growing-percent=0']), undefined);
  // A flag that merely starts the same way is not a heap flag.
  assert.equal(heapGrowthFlag({ NODE_OPTIONS: '--max-old-space-sizes' }, []), OURS);
});
