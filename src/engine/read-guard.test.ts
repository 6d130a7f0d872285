// The read guard's policy without a store: the threshold (more than N users AND more than P %),
// the user-drop verdict, and group removals deferred, judged per group and across the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SAFETY, RemovalGuard, assertPlausibleRead, exceedsSafety } from './read-guard.ts';

test('the threshold needs both: more than 20 users and more than 10%', () => {
  assert.equal(exceedsSafety(21, 100, DEFAULT_SAFETY), true);
  assert.equal(exceedsSafety(20, 100, DEFAULT_SAFETY), false, 'not more than 20');
  assert.equal(exceedsSafety(150, 2000, DEFAULT_SAFETY), false, '7.5% of 2,000');
  assert.equal(exceedsSafety(201, 2000, DEFAULT_SAFETY), true);
});

test('a read is quarantined when it returns nobody while users are linked, or drops past the threshold', () => {
  assert.throws(() => assertPlausibleRead([{ targetId: 'jira', linked: 3, notReturned: 3 }], 0, DEFAULT_SAFETY), /returned 0 users and 3 of the 3 users linked in target 'jira' were not returned/);
  assert.throws(() => assertPlausibleRead([{ targetId: 'jira', linked: 20_000, notReturned: 19_900 }], 100, DEFAULT_SAFETY), /nobody is reported missing/);
  assert.doesNotThrow(() => assertPlausibleRead([{ targetId: 'jira', linked: 2000, notReturned: 5 }], 1995, DEFAULT_SAFETY), 'a few leavers are a change');
  assert.doesNotThrow(() => assertPlausibleRead([{ targetId: 'jira', linked: 0, notReturned: 0 }], 0, DEFAULT_SAFETY), 'nothing linked yet');
  assert.doesNotThrow(() => assertPlausibleRead([{ targetId: 'jira', linked: 2000, notReturned: 500 }], 1500, { maxUsers: 1000, maxPercent: 50 }), 'a connector may allow more');
});

const census = (linked: number, members: Record<string, number>) => ({ linked, members: new Map(Object.entries(members)) });

test('group removals are deferred while reading; a group losing most of its members is held, a small change goes through', () => {
  // 20,000 linked users: 593 removals together stay under the run's threshold (10%).
  const guard = new RemovalGuard('jira', census(20_000, { 'dept-engineering': 600, 'dept-sales': 300 }), DEFAULT_SAFETY);
  assert.equal(guard.review(['dept-sales'], { groups: ['dept-sales'] }), 'proceed', 'nothing removed');
  assert.equal(guard.review(undefined, { groups: [] }), 'proceed', 'first contact removes nothing');
  for (let i = 0; i < 590; i++) assert.equal(guard.review(['dept-engineering', 'jira-users'], { groups: ['jira-users'] }), 'defer');
  for (let i = 0; i < 3; i++) assert.equal(guard.review(['DEPT-SALES'], { groups: null }), 'defer', 'a rule yielding nothing removes every managed group');
  const held = guard.decide();
  assert.deepEqual(held.map((h) => [h.name, h.removals, h.members]), [['dept-engineering', 590, 600]]);
  const values: Record<string, unknown> = { groups: ['jira-users'] };
  assert.equal(guard.review(['dept-engineering', 'jira-users'], values), 'held');
  assert.deepEqual(values.groups, ['jira-users', 'dept-engineering'], 'the held group stays wanted this run');
  assert.equal(guard.review(['dept-sales'], { groups: null }), 'proceed', 'dept-sales loses 3 of 300: a change');
  assert.throws(() => guard.assertNothingHeld(), /not removed: the read would have removed 'dept-engineering' \(590 of 600\) managed members/);
});

test('removals across the run count toward one threshold of the linked users', () => {
  // 30 groups lose 10 members each: no group past the threshold, 300 of 2,000 together are.
  const members = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`g${i}`, 200]));
  const guard = new RemovalGuard('jira', census(2000, members), DEFAULT_SAFETY);
  for (let i = 0; i < 30; i++) for (let j = 0; j < 10; j++) guard.review([`g${i}`], { groups: [] });
  assert.equal(guard.decide().length, 30, 'every group is held');
  assert.throws(() => guard.assertNothingHeld(), /300 group memberships across the run/);
  const small = new RemovalGuard('jira', census(2000, members), DEFAULT_SAFETY);
  for (let j = 0; j < 10; j++) small.review(['g0'], { groups: [] });
  assert.deepEqual(small.decide(), []);
  assert.doesNotThrow(() => small.assertNothingHeld());
});
