// The census of groups (GroupIngest.noteCensus): a complete census that leaves out a few known
// groups takes them from their members (records rewritten, rows tombstoned `not-returned`); an
// empty census, or one that leaves out more groups than the safety threshold allows, is refused
// and changes nothing; a census that lists every known group notes and writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore, type TestStore } from '../../test/helpers/stores.ts';
import type { ShadowRow } from '../store/shadow.ts';
import type { SourceUser } from '../core/types.ts';
import { GroupIngest } from './group-ingest.ts';
import { DEFAULT_SAFETY } from './read-guard.ts';

const C = 'c';
const GROUPS = 30;
const groupIds = Array.from({ length: GROUPS }, (_, i) => `g${String(i).padStart(2, '0')}`);
const nameOf = (id: string) => `dept-${id}`;

/** 30 live groups; user u<i> is in the group of its number and in g00 (so every user carries two names, u00 one). */
async function seeded(): Promise<TestStore> {
  const t = await openSqliteStore();
  await t.store.shadow.groups.put(C, groupIds.map((groupId) => ({ groupId, name: nameOf(groupId), tombstone: null, tombstoneAt: null })));
  const rows: ShadowRow[] = groupIds.map((g, i) => ({
    sourceId: `u${String(i).padStart(2, '0')}`,
    record: { attrs: { n: i }, groups: [...new Set([nameOf('g00'), nameOf(g)])].sort() },
    fingerprint: `f${i}`,
    managerId: null,
    tombstone: null,
    tombstoneAt: null,
    pending: false,
  }));
  await t.store.shadow.put(C, rows);
  return t;
}

async function applied(ingest: GroupIngest): Promise<{ users: SourceUser[]; notices: string[] }> {
  const users: SourceUser[] = [];
  const notices: string[] = [];
  for await (const chunk of ingest.apply((m) => notices.push(m))) users.push(...chunk);
  return { users, notices };
}

test('a complete census without two known groups: their members lose them, the rows are tombstoned not-returned', async () => {
  const t = await seeded();
  try {
    const ingest = new GroupIngest(t.store.shadow, C, true);
    const gone = ['g05', 'g07'];
    assert.equal(await ingest.noteCensus(groupIds.filter((g) => !gone.includes(g)), DEFAULT_SAFETY), undefined);
    assert.ok(ingest.hasChanges, 'the census is a change to apply');
    const { users, notices } = await applied(ingest);
    assert.deepEqual(users.map((u) => [u.id, u.groups]).sort(), [['u05', [nameOf('g00')]], ['u07', [nameOf('g00')]]]);
    assert.equal(notices.length, 2);
    assert.match(notices[0]!, /group 'dept-g0[57]' is no longer among the identity provider's groups in the connector's scope \(deleted, or moved out of it\): 1 member lost it/);
    const rows = await t.store.shadow.groups.all(C);
    for (const g of gone) assert.equal(rows.get(g)?.tombstone, 'not-returned', g);
    assert.equal([...rows.values()].filter((r) => !r.tombstone).length, GROUPS - 2);
  } finally {
    await t.dispose();
  }
});

test('a census that lists every known group notes nothing and writes nothing', async () => {
  const t = await seeded();
  try {
    const before = await t.store.shadow.groups.all(C);
    const ingest = new GroupIngest(t.store.shadow, C, true);
    assert.equal(await ingest.noteCensus([...groupIds, 'g-new'], DEFAULT_SAFETY), undefined, 'a group the shadow does not know is no change');
    assert.equal(ingest.hasChanges, false);
    assert.deepEqual(await t.store.shadow.groups.all(C), before);
  } finally {
    await t.dispose();
  }
});

test('an empty census, or one past the safety threshold, is refused: nothing noted, nothing written, the reason given', async () => {
  const t = await seeded();
  try {
    const before = await t.store.shadow.groups.all(C);
    const empty = new GroupIngest(t.store.shadow, C, true);
    assert.match((await empty.noteCensus([], DEFAULT_SAFETY)) ?? '', /listed none while idsync knows 30: no group is taken for gone/);
    assert.equal(empty.hasChanges, false);

    // 21 of 30 left out: more than 20 and more than 10 %.
    const short = new GroupIngest(t.store.shadow, C, true);
    assert.match((await short.noteCensus(groupIds.slice(0, 9), DEFAULT_SAFETY)) ?? '', /left out 21 of the 30 groups idsync knows, more than the safety threshold \(20 and 10%\) allows/);
    assert.equal(short.hasChanges, false);
    assert.deepEqual(await t.store.shadow.groups.all(C), before, 'no row changed');

    // 20 left out is within the threshold (not more than maxUsers): taken.
    const within = new GroupIngest(t.store.shadow, C, false);
    assert.equal(await within.noteCensus(groupIds.slice(0, 10), DEFAULT_SAFETY), undefined);
    const { users } = await applied(within);
    assert.equal(users.length, 20, 'the members of the 20 groups lose them');
    assert.deepEqual(await t.store.shadow.groups.all(C), before, 'a dry run compares, it writes no group row');
  } finally {
    await t.dispose();
  }
});
