// The group-removal guard's policy without a store: removals deferred while reading, judged per
// group and across the run with the connector's safety threshold, held removals kept in the
// mapped groups, holds of an open quarantine never counted again and dropped once moot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SAFETY } from './read-guard.ts';
import { GroupRemovalGuard } from './group-removal-guard.ts';

const census = (linked: number, members: Record<string, number>) => async () => ({ linked, members: new Map(Object.entries(members)) });

test('group removals are deferred while reading; a group losing most of its members is held, a small change goes through', async () => {
  // 20,000 linked users: 593 removals together stay under the run's threshold (10%).
  const guard = new GroupRemovalGuard('jira', census(20_000, { 'dept-engineering': 600, 'dept-sales': 300 }), DEFAULT_SAFETY);
  assert.equal(guard.review('s0', ['dept-sales'], { groups: ['dept-sales'] }).kind, 'proceed', 'nothing removed');
  assert.equal(guard.review('s0', undefined, { groups: [] }).kind, 'proceed', 'first contact removes nothing');
  for (let i = 0; i < 590; i++) assert.equal(guard.review(`e${i}`, ['dept-engineering', 'jira-users'], { groups: ['jira-users'] }).kind, 'defer');
  for (let i = 0; i < 3; i++) assert.equal(guard.review(`s${i}`, ['DEPT-SALES'], { groups: null }).kind, 'defer', 'a rule yielding nothing removes every managed group');
  const held = await guard.decide();
  assert.deepEqual(held.map((h) => [h.name, h.removals, h.members]), [['dept-engineering', 590, 600]]);
  assert.match(guard.describe(), /would remove 'dept-engineering' \(590 of 600\) managed members in target 'jira'/);
  assert.equal(guard.takeUnstored().size, 590, 'every user of the held group goes to the quarantine');
  const values: Record<string, unknown> = { groups: ['jira-users'] };
  const r = guard.review('e0', ['dept-engineering', 'jira-users'], values);
  assert.equal(r.kind, 'held');
  assert.deepEqual(values.groups, ['jira-users', 'dept-engineering'], 'the held group stays wanted this run');
  assert.equal(guard.takeUnstored().size, 0, 'a user stored already is not stored twice');
  assert.equal(guard.review('s1', ['dept-sales'], { groups: null }).kind, 'proceed', 'dept-sales loses 3 of 300: a change');
  const late = guard.review('late', ['dept-engineering'], { groups: [] });
  assert.equal(late.kind, 'held', 'a user first seen after the decision is held too');
  assert.deepEqual([...guard.takeUnstored().keys()], ['late']);
});

test('removals across the run count toward one threshold of the linked users', async () => {
  // 30 groups lose 10 members each: no group past the threshold, 300 of 2,000 together are.
  const members = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`g${i}`, 200]));
  const guard = new GroupRemovalGuard('jira', census(2000, members), DEFAULT_SAFETY);
  for (let i = 0; i < 30; i++) for (let j = 0; j < 10; j++) guard.review(`u${i}-${j}`, [`g${i}`], { groups: [] });
  assert.equal((await guard.decide()).length, 30, 'every group is held');
  assert.match(guard.describe(), /300 group memberships across the run/);
  let read = false;
  const small = new GroupRemovalGuard('jira', async () => ((read = true), { linked: 2000, members: new Map() }), DEFAULT_SAFETY);
  for (let j = 0; j < 10; j++) small.review(`u${j}`, ['g0'], { groups: [] });
  assert.deepEqual(await small.decide(), []);
  assert.equal(read, false, 'under maxUsers removals no census is read');
});

test('a removal held by an open quarantine is kept and not counted; it is moot once the group is wanted again', async () => {
  const holds = new Map([['u1', [{ quarantineId: 'q-1', groups: ['jira-software-users'] }]]]);
  const guard = new GroupRemovalGuard('jira', census(100, {}), { maxUsers: 0, maxPercent: 0 }, holds);
  const values: Record<string, unknown> = { groups: [] };
  const r = guard.review('u1', ['jira-software-users'], values);
  assert.equal(r.kind, 'held', 'not deferred, not derived into a removal');
  assert.equal(r.kind === 'held' && r.quarantineId, 'q-1');
  assert.deepEqual(values.groups, ['jira-software-users']);
  assert.deepEqual(await guard.decide(), [], 'not counted against the threshold again');
  assert.deepEqual(guard.moot(), []);
  assert.equal(guard.review('u1', ['jira-software-users'], { groups: ['JIRA-software-users'] }).kind, 'proceed');
  assert.deepEqual(guard.moot(), [{ quarantineId: 'q-1', sourceId: 'u1' }], 'the group came back: the hold is dropped');
});

test("a group's removals count with the burst's (recent runs) against the members it had before them", async () => {
  // 3 removals alone: under maxUsers, no census; with 20 removed by recent runs, 23 of 200 are over.
  let read = 0;
  const counted = (recent: Record<string, number>) => {
    const guard = new GroupRemovalGuard('jira', async () => (read++, { linked: 10_000, members: new Map([['g', 180]]) }), DEFAULT_SAFETY, new Map(), async () => new Map(Object.entries(recent)));
    for (let j = 0; j < 3; j++) guard.review(`u${j}`, ['G'], { groups: [] });
    return guard;
  };
  assert.deepEqual(await counted({ g: 17 }).decide(), [], '20 in the hour: not more than maxUsers');
  assert.equal(read, 0, 'no census read under maxUsers, the burst included');
  const over = counted({ g: 20, other: 500 });
  assert.deepEqual((await over.decide()).map((h) => [h.name, h.removals, h.members, h.recent]), [['G', 3, 180, 20]]);
  assert.match(over.describe(), /'G' \(23 of 200: 3 in this run, 20 by the connector's runs of the last 60 minutes\)/);
  assert.equal(read, 1, 'the census read once a count with the burst passes maxUsers');
});
