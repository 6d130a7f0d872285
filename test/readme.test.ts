// The README states what each target can write; this keeps it in step with the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderCapabilityTable, TABLE_END, TABLE_START } from '../src/targets/capability-table.ts';

test("the README's capability table matches what the targets declare", async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  assert.ok(start >= 0 && end > start, 'README.md has the capability-table markers');
  const inReadme = readme.slice(start + TABLE_START.length, end).trim();
  assert.equal(inReadme, (await renderCapabilityTable()).trim(), 'run `npm run docs:capabilities` and commit README.md');
});

test('the README names the two commands a newcomer runs', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  assert.match(readme, /npm ci && npm run demo/);
  assert.match(readme, /npm ci && npm test/);
});
