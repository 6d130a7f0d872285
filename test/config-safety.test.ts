// The connector's safety threshold (read guard, account removals, group-membership removals):
// a bad value is refused where it stands, with a message that says what is wanted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConnector } from '../src/config/validate.ts';
import { DEFAULT_SAFETY, safetyOf } from '../src/engine/read-guard.ts';

const base = {
  id: 'c',
  source: { type: 'entra', tenantId: 'contoso.onmicrosoft.com', clientId: 'x', clientSecret: { env: 'S' } },
  targets: [{ id: 'jira', type: 'jira-dc', url: 'https://jira.example.com', auth: { type: 'pat', token: { env: 'T' } }, mapping: [{ target: 'user.displayName', source: 'displayName' }] }],
};

const errorsOf = async (safety: unknown) => (await validateConnector({ ...base, safety })).issues.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`);

test('safety: defaults 20 users and 10 %, a connector may set its own', async () => {
  assert.deepEqual(DEFAULT_SAFETY, { maxUsers: 20, maxPercent: 10 });
  const { config, issues } = await validateConnector({ ...base, safety: { maxUsers: 50, maxPercent: 25 } });
  assert.deepEqual(issues.filter((i) => i.severity === 'error'), []);
  assert.deepEqual(safetyOf(config!), { maxUsers: 50, maxPercent: 25 });
  assert.deepEqual(safetyOf((await validateConnector(base)).config!), DEFAULT_SAFETY);
});

test('safety: bad values are refused with what is wanted', async () => {
  assert.deepEqual(await errorsOf({ maxPercent: 150 }), ['safety.maxPercent: safety.maxPercent must be a percentage from 0 to 100 (default 10): above 100 nothing would ever be held']);
  assert.deepEqual(await errorsOf({ maxUsers: -1 }), ['safety.maxUsers: safety.maxUsers must be 0 or more: more than this many users removed in one run (and more than maxPercent %) is held for approval']);
  assert.deepEqual(await errorsOf({ maxUsers: 2.5 }), ['safety.maxUsers: safety.maxUsers must be a whole number of users (default 20)']);
  assert.deepEqual(await errorsOf({ maxUsers: '20' }), ['safety.maxUsers: safety.maxUsers must be a number of users (default 20)']);
  const unknown = await errorsOf({ maxGroupRemovals: 5 });
  assert.equal(unknown.length, 1);
  assert.match(unknown[0]!, /maxGroupRemovals/);
});
