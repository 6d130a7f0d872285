// Every message-less assert.ok / assert in the suite is a hang waiting to happen: when one fails,
// Node 20's assert builds its message by reading the test's source file at the failing call's
// column, and under tsx (which compiles the file, moving columns) that search can spin for
// minutes instead of reporting. A message skips the search, so every such call must have one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith('.test.ts') || (dir.includes(`${ROOT}test`) && name.endsWith('.ts'))) out.push(path);
  }
  return out;
}

/** `file:line` of each assert.ok(x) / assert(x) call without a message. */
export function messageLessAsserts(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isCallExpression(n) && n.arguments.length === 1 && ['assert', 'assert.ok'].includes(n.expression.getText(sf))) {
      found.push(`${relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

test('the check finds a message-less assert.ok and accepts one with a message', () => {
  assert.equal(messageLessAsserts(`${ROOT}x.test.ts`, 'assert.ok(a > 1);\nassert(b);\nassert.ok(c, "c");').length, 2);
});

test('every assert.ok / assert in the test suite says what it checks', () => {
  const files = ['src', 'emulators', 'test', 'bench'].flatMap((d) => testFiles(join(ROOT, d)));
  assert.ok(files.length > 20, `test files found: ${files.length}`);
  const bad = files.flatMap((f) => messageLessAsserts(f, readFileSync(f, 'utf8')));
  assert.deepEqual(bad, [], 'give these a message as the second argument');
});
