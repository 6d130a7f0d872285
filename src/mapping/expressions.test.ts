import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledExpression, ExpressionProblem, parseExpression } from './expressions.ts';

const noLinks = { targetUsernameOf: () => undefined, onUnresolved: () => {} };
// Tests that are not about the timebox get a budget no busy test machine can exceed.
const evaluate = (source: string, input: Record<string, unknown>, timeoutMs = 10_000) =>
  new CompiledExpression(source, timeoutMs).evaluate(input, noLinks);

test('expressions evaluate JSONata over the user input', async () => {
  const input = { givenName: 'Jane', surname: 'Doe', groups: ['A', 'B'], n: 3 };
  assert.equal(await evaluate('givenName & " " & surname', input), 'Jane Doe');
  assert.equal(await evaluate('$count(groups)', input), 2);
  assert.equal(await evaluate('n > 2 ? "many" : "few"', input), 'many');
  assert.equal(await evaluate('missing', input), undefined);
});

test('preset functions are available in expressions', async () => {
  const input = { userPrincipalName: 'jane.doe_fabrikam.com#EXT#@contoso.onmicrosoft.com', mail: null, code: 'FIN-0042' };
  assert.equal(await evaluate('$firstNonEmpty(mail, $guestToMail(userPrincipalName))', input), 'jane.doe@fabrikam.com');
  assert.equal(await evaluate('$upper($regexReplace(code, "^FIN-0*", "x"))', input), 'X42');
  assert.equal(await evaluate('$lower($stripDomain("Bob@X.com"))', input), 'bob');
  assert.equal(await evaluate('$joinNonEmpty(["a", mail, "b"], "+")', input), 'a+b');
});

test('$targetUsername asks the link context and reports unresolved references', async () => {
  const expression = new CompiledExpression('$targetUsername(manager.id)');
  let unresolved = 0;
  const lookups = (answer: string | null | undefined) => ({
    targetUsernameOf: (id: string) => (id === 'm1' ? answer : 'wrong'),
    onUnresolved: () => {
      unresolved++;
    },
  });
  assert.equal(await expression.evaluate({ manager: { id: 'm1' } }, lookups('boss')), 'boss');
  assert.equal(await expression.evaluate({ manager: { id: 'm1' } }, lookups(null)), undefined);
  assert.equal(unresolved, 0);
  assert.equal(await expression.evaluate({ manager: { id: 'm1' } }, lookups(undefined)), undefined);
  assert.equal(unresolved, 1);
  assert.equal(await expression.evaluate({ manager: null }, lookups(undefined)), undefined, 'no manager, nothing to resolve');
  assert.equal(unresolved, 1);
});

test('a syntax error names the position of the offending token', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['$lower(mail', 11, /Expected "\)" before end of expression/],
    ['$foo(,)', 5, /"," cannot be used as a unary operator/],
    ['department & ', 13, /Unexpected end of expression/],
  ];
  for (const [source, position, detail] of cases) {
    const parsed = parseExpression(source);
    assert.equal(parsed.ok, false, source);
    if (parsed.ok) continue;
    assert.equal(parsed.problem.position, position, source);
    assert.match(parsed.problem.message, new RegExp(`^expression error at position ${position}: `));
    assert.match(parsed.problem.message, detail);
  }
});

test('an invalid literal regex is refused when the expression is compiled', () => {
  assert.throws(
    () => new CompiledExpression('$regexReplace(department, "(unclosed", "")'),
    (e: unknown) => e instanceof ExpressionProblem && e.position === 26 && /\$regexReplace: Invalid regular expression/.test(e.message),
  );
  assert.throws(() => new CompiledExpression('$regexReplace(department, "a", "", "xyz")'), /invalid regex flags "xyz"/);
  // A pattern computed at run time can only fail at run time.
  assert.doesNotThrow(() => new CompiledExpression('$regexReplace(department, pattern, "")'));
});

// The test-level timeout only turns a broken timebox into a failure instead of a hang.
test('an endless loop is stopped by the timebox with a clear error', { timeout: 60_000 }, async () => {
  const endless = '($loop := function($n) { $loop($n + 1) }; $loop(0))';
  await assert.rejects(evaluate(endless, {}, 20), /expression took longer than 20 ms and was stopped/);
});

// The test-level timeout only turns a broken timebox into a failure instead of a hang.
test('runaway recursion and huge sequences are stopped too', { timeout: 60_000 }, async () => {
  // A generous time budget, so the depth and size guards are what stop these.
  await assert.rejects(evaluate('($f := function($n) { 1 + $f($n + 1) }; $f(0))', {}, 60_000), /recursed too deeply/);
  await assert.rejects(evaluate('$sum([1..5000000])', {}, 60_000), /more than 100000 values/);
});

test('run-time errors carry the position and JSONata\'s reason', async () => {
  await assert.rejects(evaluate('$number("abc") + 1', {}), /expression error at position \d+: .*Unable to cast value to a number/);
  await assert.rejects(evaluate('$joinNonEmpty([{"a": 1}], ",")', {}), /cannot join an object/);
});

// The test-level timeout only turns a broken timebox into a failure instead of a hang.
test('a timed-out evaluation does not affect evaluations running alongside it', { timeout: 60_000 }, async () => {
  const endless = new CompiledExpression('($loop := function($n) { $loop($n + 1) }; $loop(0))', 20);
  const quick = new CompiledExpression('$upper(name)', 10_000);
  const results = await Promise.allSettled([
    quick.evaluate({ name: 'a' }, noLinks),
    endless.evaluate({}, noLinks),
    quick.evaluate({ name: 'b' }, noLinks),
  ]);
  assert.deepEqual(results[0], { status: 'fulfilled', value: 'A' });
  assert.equal(results[1].status, 'rejected');
  assert.deepEqual(results[2], { status: 'fulfilled', value: 'B' });
});
