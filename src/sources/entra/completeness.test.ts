// Short reads of the Entra source against the Graph emulator: a user page answered empty
// mid-listing, an empty user list, an empty group-member page (per group and for a required
// group) are found out by Graph's own counts and fail the listing; a cut body is retried and
// read in full; Graph's eventual consistency stays within the declared tolerance.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../emulators/graph/index.ts';
import { generateOrg } from '../../../emulators/org/index.ts';
import type { SourceQuery, SourceUser } from '../../core/types.ts';
import type { EntraSource } from './index.ts';
import { assertCompleteRead, countTolerance } from './completeness.ts';
import { emulatedSources } from './testing.ts';

const SECRET_ENV = 'IDSYNC_TEST_ENTRA_COMPLETENESS_SECRET';
const org = generateOrg({ users: 2000, seed: 11 });
let emu: GraphEmulator;

before(async () => {
  emu = await startGraphEmulator({ org });
});
after(async () => {
  await closeAll();
  await emu.close();
});

const { source, closeAll } = emulatedSources(() => emu, SECRET_ENV);
const plain: SourceQuery = { attributes: ['displayName'], groups: false, manager: false };
const withGroups: SourceQuery = { attributes: ['groups'], groups: true, manager: false };
/** User list pages, not /users/$count nor /users/{id}. */
const USER_PAGES = '^/v1\\.0/users\\?';

async function readAll(s: EntraSource, query: SourceQuery, seen: SourceUser[] = []): Promise<SourceUser[]> {
  for await (const page of s.listUsers(query)) seen.push(...page.users);
  return seen;
}

async function withScript<T>(script: NonNullable<Parameters<GraphEmulator['setFaults']>[0]['script']>, fn: () => Promise<T>): Promise<T> {
  emu.setFaults({ script });
  try {
    return await fn();
  } finally {
    emu.setFaults({ script: [] });
  }
}

test('the tolerance: max(5, 1%) of the count; a read within it is complete, one beyond it is not', () => {
  assert.equal(countTolerance(100), 5);
  assert.equal(countTolerance(20_000), 200);
  assert.doesNotThrow(() => assertCompleteRead('users', 19_800, 20_000));
  assert.doesNotThrow(() => assertCompleteRead('users', 20_050, 20_000), 'more than counted is a user created meanwhile');
  assert.doesNotThrow(() => assertCompleteRead('users', 0, undefined), 'no count: nothing to compare with');
  assert.throws(() => assertCompleteRead('users', 19_799, 20_000), (e: any) => e.code === 'TRANSIENT' && /counts 20000 but its pages returned 19799/.test(e.message));
});

test('a user page answered 200 with value [] and no nextLink mid-listing fails the listing with both numbers', async () => {
  const seen: SourceUser[] = [];
  await withScript([{ pattern: USER_PAGES, answer: 'empty-page', skip: 2 }], () =>
    assert.rejects(readAll(source({ pageSize: 100 }), plain, seen), (e: any) => {
      assert.equal(e.code, 'TRANSIENT');
      assert.match(e.message, /the read of users is incomplete: Microsoft Graph counts 2000 but its pages returned 200 /);
      assert.match(e.message, /nobody is reported missing/);
      return true;
    }),
  );
  assert.equal(seen.length, 200, 'the users read before the short page were yielded; the failure comes at the end of the listing');
});

test('an empty user list fails the listing', async () => {
  await withScript([{ pattern: USER_PAGES, answer: 'empty-page' }], () =>
    assert.rejects(readAll(source(), plain), (e: any) => /counts 2000 but its pages returned 0 /.test(e.message)),
  );
});

test('an advanced listing uses @odata.count of its first page (no /users/$count)', async () => {
  const urls: string[] = [];
  const filter = "department ne 'nobody'";
  await withScript([{ pattern: USER_PAGES, answer: 'empty-page', skip: 1 }], () =>
    assert.rejects(readAll(source({ filter, pageSize: 500 }, (r) => urls.push(r.url)), plain), (e: any) => /counts 2000 but its pages returned 500 /.test(e.message)),
  );
  assert.equal(urls.filter((u) => u.includes('/users/$count')).length, 0);
  assert.equal((await readAll(source({ filter }), plain)).length, 2000, 'without the fault the same listing completes');
});

test('a cut or truncated user page is retried and the listing completes', async () => {
  const s = source({ pageSize: 100 });
  const users = await withScript(
    [
      { pattern: USER_PAGES, answer: 'cut', skip: 3 },
      { pattern: USER_PAGES, answer: 'truncated', skip: 7 },
    ],
    () => readAll(s, plain),
  );
  assert.deepEqual(users.map((u) => u.id), org.users.map((u) => u.id));
  assert.ok(s.graph.stats.retries >= 2, 'both pages were read again');
});

test('a group-member page answered empty fails the listing before any user is yielded (per group)', async () => {
  const eng = org.groups.find((g) => g.displayName === 'dept-engineering')!;
  const seen: SourceUser[] = [];
  await withScript([{ path: `/groups/${eng.id}/members`, answer: 'empty-page' }], () =>
    assert.rejects(readAll(source({ membershipStrategy: 'perGroup' }), withGroups, seen), (e: any) => {
      assert.equal(e.code, 'TRANSIENT');
      assert.match(e.message, new RegExp(`the members of group 'dept-engineering' is incomplete: Microsoft Graph counts ${eng.members.length} but its pages returned 0`));
      return true;
    }),
  );
  assert.equal(seen.length, 0, 'no user is yielded with a member list cut short');
  const users = await readAll(source({ membershipStrategy: 'perGroup' }), withGroups);
  assert.equal(users.filter((u) => u.groups!.includes('dept-engineering')).length, eng.members.length, 'without the fault every member is read');
});

test('a required group whose member page is answered empty fails the listing instead of leaving everyone out of scope', async () => {
  const jira = org.groups.find((g) => g.displayName === 'jira-users')!;
  const seen: SourceUser[] = [];
  await withScript([{ path: `/groups/${jira.id}/members`, answer: 'empty-page' }], () =>
    assert.rejects(readAll(source({ requiredGroups: ['jira-users'] }), plain, seen), (e: any) => /the members of group 'jira-users' is incomplete/.test(e.message)),
  );
  assert.equal(seen.length, 0, 'nobody is yielded (or left out) on an empty member list');
});
