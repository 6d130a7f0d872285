#!/usr/bin/env node
// Entry point of the `idsync` command. The sources are TypeScript run through tsx,
// so a checkout works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
// Before anything else loads: how far V8 lets the heap grow between full collections (why, and
// how the administrator's own settings win: src/core/heap-growth.ts).
const { applyHeapGrowth } = await import('../src/core/heap-growth.ts');
try {
  applyHeapGrowth();
} catch (e) {
  console.error(`idsync: ${e instanceof Error ? e.message : e}`);
  process.exit(2);
}
await import('../src/cli/main.ts');
