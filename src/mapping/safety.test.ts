// No expression may crash or freeze the server (issue 8): hostile expressions are refused at
// save time where that can be known, and otherwise stopped per user, off the main thread, while
// the event loop keeps serving. Fixed inputs; no timing asserts beyond "the loop kept ticking".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledExpression } from './expressions.ts';
import { compileMapping, validateMapping } from './index.ts';
import { runsOnMainThread } from './placement.ts';
import { previewRule } from './preview.ts';
import { JIRA_LIKE, links, rule, user } from './testing.ts';
import type { Node } from './ast.ts';
import jsonata from 'jsonata';

const noLinks = { targetUsernameOf: () => undefined, onUnresolved: () => {} };
const TARGET = { ...JIRA_LIKE, canCreateUsers: false };

/** Counts event-loop turns while `work` runs: a blocked loop would count (almost) none. */
async function ticksDuring<T>(work: () => Promise<T>): Promise<{ result: T; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    const result = await work();
    return { result, ticks };
  } finally {
    clearInterval(timer);
  }
}

function sourceErrors(source: string): string[] {
  return validateMapping({ rules: [rule('property.x', source)], capabilities: TARGET })
    .filter((i) => i.severity === 'error')
    .map((i) => i.message);
}

test('a literal $pad width over the limit is refused at save time and in the preview', async () => {
  assert.match(sourceErrors('$pad("x", 500000000)').join('\n'), /\$pad: a width of 500000000 is over the limit of 100000 characters/);
  const preview = await previewRule(rule('property.x', '$pad("x", 500000000)'), user());
  assert.equal(preview.ok, false);
  assert.match(!preview.ok ? preview.error : '', /\$pad: a width of 500000000 is over the limit/);
  assert.deepEqual(sourceErrors('$pad(department, 12, ".")'), [], 'a modest width is fine');
});

test('a $pad width from the data is bounded at run time, and $pad still pads as JSONata does', { timeout: 60_000 }, async () => {
  const preview = await previewRule(rule('property.x', '$pad("x", width)'), user({ width: 500_000_000 }));
  assert.equal(preview.ok, false);
  assert.match(!preview.ok ? preview.error : '', /\$pad: a width of 500000000 is over the limit/);
  for (const [source, expected] of [
    ['$pad("ab", 5)', 'ab   '],
    ['$pad("ab", -5, "#")', '###ab'],
    ['$pad("ab", 6, "xy")', 'abxyxy'],
    ['$pad("abcdef", 3)', 'abcdef'],
    ['$pad("€", 3, "é")', '€éé'],
  ] as const) {
    assert.equal(await new CompiledExpression(source, 10_000).evaluate({}, noLinks), expected, source);
    assert.equal(await jsonata(source).evaluate({}), expected, `JSONata's own $pad agrees on ${source}`);
  }
});

test('catastrophic patterns are refused at save time, naming the pattern', () => {
  for (const source of ['$regexReplace(displayName, "(a+)+$", "")', '$match(displayName, /(a+)+$/)', '$contains(displayName, /(a+)+$/)', 'groups[$contains($, /^(\\w+\\s?)*$/)]']) {
    const errors = sourceErrors(source);
    assert.equal(errors.length, 1, `${source}: ${errors.join('; ')}`);
    assert.match(errors[0]!, /the pattern ".*" is refused because it can take exponential time/, source);
  }
  const [issue] = validateMapping({ rules: [rule('property.x', 'displayName'), rule('property.y', '$match(displayName, /(a+)+$/)')], capabilities: TARGET });
  assert.deepEqual([issue?.row, issue?.position], [1, 20], 'the issue is placed on the row and at the pattern');
  // Everyday patterns pass, quadratic ones included.
  for (const source of ['groups[$contains($, /^dept-/)]', '$regexReplace(code, "^FIN-0*", "")', '$regexReplace(displayName, "\\\\s+$", "")', '$regexReplace(code, "^(FIN|HR)-0+", "")']) {
    assert.deepEqual(sourceErrors(source), [], source);
  }
});

test('a catastrophic pattern built from the data is stopped for that user while the event loop keeps running', { timeout: 60_000 }, async () => {
  const mapping = compileMapping([rule('property.x', '$regexReplace(displayName, pattern, "")'), rule('user.displayName', 'displayName')], TARGET, { timeoutMs: 100 });
  const hostile = user({ displayName: `${'a'.repeat(32)}!`, pattern: '(a+)+$' });
  const benign = user({ displayName: 'Jane Doe', pattern: ' Doe$' });
  const { result, ticks } = await ticksDuring(() => Promise.all([mapping.evaluate(hostile, links()), mapping.evaluate(benign, links())]));
  assert.deepEqual(result[0].errors, [{ field: 'property.x', message: 'expression took longer than 100 ms and was stopped (an endless loop or too much work?); simplify it or raise the mapping timeout' }]);
  assert.equal(result[0].values['user.displayName'], `${'a'.repeat(32)}!`, 'the user\'s other rules still map');
  assert.deepEqual(result[1].errors, []);
  assert.equal(result[1].values['property.x'], 'Jane', 'the user in the same batch is evaluated again and succeeds');
  assert.ok(ticks >= 5, `the event loop kept turning while the regex ran (${ticks} ticks)`);
});

test('an expression that allocates past the worker heap fails that user with a memory error', { timeout: 120_000 }, async () => {
  const hog = new CompiledExpression('$map([1..99999], function($i) { $pad("", 99999) & $i })', 60_000);
  const { result, ticks } = await ticksDuring(() => hog.evaluate({}, noLinks).then(() => 'no error', (e: Error) => e.message));
  assert.match(result, /expression used more than 256 MB of memory and was stopped/);
  assert.ok(ticks >= 1, `the event loop kept turning (${ticks} ticks)`);
  const after = await new CompiledExpression('$map([1, 2], function($i) { $i * 2 })', 10_000).evaluate({}, noLinks);
  assert.deepEqual(after, [2, 4], 'a fresh worker evaluates the next expression');
});

test('a function that calls itself on every path is refused at save time; one with a base case is not', () => {
  assert.match(sourceErrors('($loop := function($n) { $loop($n + 1) }; $loop(0))').join('\n'), /\$loop calls itself on every path and never ends/);
  assert.match(sourceErrors('($f := function($n) { ($x := $n; $f($x) & "!") }; $f(1))').join('\n'), /\$f calls itself on every path/);
  assert.deepEqual(sourceErrors('($f := function($n) { $n > 0 ? $n * $f($n - 1) : 1 }; $f(5))'), []);
  assert.deepEqual(sourceErrors('($f := function($n) { $n > 0 and $f($n - 1) }; $f(5))'), []);
});

test('an endless rule that slips through fails its users in bounded time while the event loop keeps running', { timeout: 120_000 }, async () => {
  // Its base case is never reached: only the run-time limit can stop it.
  const endless = '($spin := function($n) { $n >= 0 ? $spin($n + 1) : 0 }; $spin(0))';
  const mapping = compileMapping([rule('property.x', endless), rule('user.displayName', 'displayName')], TARGET, { timeoutMs: 50 });
  const users = Array.from({ length: 300 }, (_, i) => ({ ...user({ displayName: `User ${i}` }), id: `u${i}` }));
  const { result, ticks } = await ticksDuring(async () => {
    const out = [];
    for (const u of users) out.push(await mapping.evaluate(u, links()));
    return out;
  });
  assert.ok(result.every((m) => m.errors.length === 1 && m.errors[0]!.field === 'property.x'), 'every user fails on that rule');
  assert.ok(result.every((m, i) => m.values['user.displayName'] === `User ${i}`), 'and keeps its other fields');
  const stopped = result.filter((m) => /took longer than 50 ms and was stopped/.test(m.errors[0]!.message)).length;
  assert.equal(stopped, 3, 'three users are stopped by the limit');
  assert.match(result[299]!.errors[0]!.message, /took longer than 50 ms for 3 users and is not evaluated for the others in this run.*fix the rule/);
  assert.ok(ticks >= 3, `the event loop kept turning (${ticks} ticks)`);
});

test('$targetUsername works in expressions evaluated off the main thread', { timeout: 60_000 }, async () => {
  const expression = new CompiledExpression('$map([manager.id, "m2"], function($i) { $targetUsername($i) })', 10_000);
  let unresolved = 0;
  const lookups = { targetUsernameOf: (id: string) => ({ m1: 'boss', m2: null })[id], onUnresolved: () => unresolved++ };
  assert.deepEqual(await expression.evaluate({ manager: { id: 'm1' } }, lookups), 'boss');
  assert.equal(unresolved, 0);
  assert.equal(await expression.evaluate({ manager: { id: 'm9' } }, lookups), undefined);
  assert.equal(unresolved, 1, 'an id not known yet makes the evaluation unresolved');
});

test('straight-line expressions stay on the main thread; anything that can loop or backtrack does not', () => {
  const placed = (source: string) => runsOnMainThread(jsonata(source).ast() as Node);
  for (const source of ['groups[$contains($, /^dept-/)]', 'givenName & " " & surname', '$lower($stripDomain(mail))', 'department = "IT" ? "tech" : "biz"', '$regexReplace(code, "^FIN-0*", "")', 'mail ~> $lowercase()']) {
    assert.equal(placed(source), true, source);
  }
  for (const source of ['$map(groups, function($g) { $g })', '$pad(department, 5)', '[1..10]', '$eval(code)', '$regexReplace(code, pattern, "")', '$regexReplace(code, "^(a|b)+", "")', '$match(name, /(a+)+$/)', '($x := 1; $x)']) {
    assert.equal(placed(source), false, source);
  }
});
