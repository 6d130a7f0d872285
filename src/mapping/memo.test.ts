// Memoized expressions must give exactly what a fresh evaluation gives, for every user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledExpression } from './expressions.ts';

const json = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const lookups = { targetUsernameOf: () => 'someone', onUnresolved: () => {} };

const users = Array.from({ length: 400 }, (_, i) => ({
  id: `u${i}`,
  department: ['Engineering', 'Sales', null, 'Legal'][i % 4],
  jobTitle: i % 7 === 0 ? undefined : `Title ${i % 5}`,
  groups: [['dept-eng', 'jira-users'], ['dept-sales'], [], ['guild-x', 'dept-eng', 'jira-users', 'confluence-users']][i % 4],
  manager: i % 3 ? { id: `m${i % 9}`, mail: `m${i % 9}@x.com` } : null,
  extra: { nested: [{ v: i % 6 }, { v: (i + 1) % 6 }] },
}));

const pure = [
  'groups[$contains($, /^dept-/) or $ = "jira-users"]',
  '$count(groups) > 1 ? "many" : "few"',
  'department & " / " & jobTitle',
  '$uppercase(manager.mail)',
  'extra.nested.v',
  '$sum(extra.nested.v) + $count(groups)',
];

test('a pure expression is memoized and every user gets what a fresh evaluation gives', async () => {
  for (const source of pure) {
    const memo = new CompiledExpression(source, 1000, { allowDirect: false });
    const fresh = new CompiledExpression(source, 1000, { allowDirect: false, memoize: false });
    assert.equal(memo.memoizes, true, source);
    for (const u of users) {
      const a = await memo.evaluate(u, lookups);
      const b = await fresh.evaluate(u, lookups);
      // JSONata marks its result lists with extra properties; the values are what count.
      assert.deepEqual(json(a), json(b), `${source} for ${u.id}`);
    }
  }
});

test('a caller changing a result does not change what the next user gets', async () => {
  const e = new CompiledExpression('groups[$contains($, /-/)]', 1000, { allowDirect: false });
  const first = (await e.evaluate(users[3]!, lookups)) as string[];
  first.push('tampered');
  const again = await e.evaluate(users[3]!, lookups);
  assert.deepEqual(json(again), ['guild-x', 'dept-eng', 'jira-users', 'confluence-users']);
});

test('expressions that depend on more than their attributes are not memoized', () => {
  for (const source of ['$now()', '$millis() > 0', '$random()', '$targetUsername(manager.id)', 'manager.targetUsername', '$keys($)', '$lookup($, "department")', '$eval("department")', '**.v']) {
    assert.equal(new CompiledExpression(source, 1000, { allowDirect: false }).memoizes, false, source);
  }
});
