// Source conformance suite: one set of behavioural tests every SourceConnector must pass,
// run against the source's emulator (or any backing directory a fixture can drive).
//
// How to use it for a new source (see entra-source.test.ts and entra-fixture.ts):
//
//   import { runSourceConformance } from './source-suite.ts';
//   runSourceConformance('ldap', async () => makeLdapFixture());
//
// A fixture builds sources for a SourceSetup (filter on/off, required groups, page size),
// seeds the backing directory from sample-org.ts and returns what the suite should then read
// (expectedFrom(org), or its own mapping when the provider renames ids), and drives changes,
// deletes, faults and checkpoint expiry straight on the directory. Only `source`, `seed`,
// `attributes`, `unknownRefs`, `setAttribute`, `deleteUser` and `close` are required: a
// minimal fixture (e.g. an in-memory source) declares the rest in `unsupported`.
//
// The fixture is built once per suite; `seed('sample')` runs before every test and brings the
// backing directory back to the sample organisation (emulators/org: managers, nested groups,
// disabled users, guests, unicode names) with no faults. The suite compares what the source
// reads with the fixture's provider-neutral view of that organisation (`ExpectedDirectory`).
//
// Capabilities a source or its fixture lacks are declared in `unsupported` with the reason;
// their tests are skipped with that reason. A capability not declared unsupported is tested:
// a source without `changes()` whose fixture does not say so fails, it is never silently passed.
//
// What it checks:
// - listing: every user in scope exactly once over all pages; `complete` only on the last page;
//   a filter and required groups narrow the listing; an empty directory is complete and empty;
// - failures: a failure mid-listing (5xx, dropped connection) throws and never yields
//   `complete`; an empty or short page is never taken for the end of the directory; a
//   transient storm converges; an aborted signal stops the requests;
// - economy: only the asked attributes, and the manager and groups only when asked, are read;
// - getUser: by id and by every other reference, null only for users that do not exist,
//   `outOfScope` for a user outside the filter;
// - manager as a reference (id or key) resolvable to a user of the same directory; groups as names;
// - changes(): seeding, no change, attribute, manager, membership, deletes (soft, hard,
//   out of scope), checkpoints opaque and JSON-safe, CHECKPOINT_EXPIRED for a changed query or
//   an expired checkpoint, a failed page throws;
// - groupList: a complete read with groups lists every group in scope (stable ids, the names the
//   users' records carry), on its last page only; a failed read and a read without groups list
//   none; a seeding round lists them too; a group renamed with no member change reaches
//   changes() (ChangePage.groups under the new name, or its members re-read with it); a group
//   deleted reaches changes() (ChangePage.groups `deleted`, or left out of the round's
//   groupCensus, which when given is on the last page only, lists exactly the groups in scope,
//   and never comes from a round that fails);
// - listGroups(): each group once with its members; searchUsers(); test().
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isIdsyncError } from '../../src/core/errors.ts';
import { reactionTo } from '../../src/core/error-policy.ts';
import type { ChangePage, ManagerRef, SourceConnector, SourceGroup, SourceKeyType, SourceQuery, SourceUser, UserPage } from '../../src/core/types.ts';

// ---------------------------------------------------------------- what a fixture provides

/** A user of the sample organisation as the suite expects the source to read it. */
export interface ExpectedUser {
  /** The provider's immutable id (SourceUser.id). */
  id: string;
  /** Other references getUser must accept (UPN, mail, DN, username), as the admin types them. */
  refs: string[];
  /** The manager's id, or null. */
  managerId: string | null;
  /** Names of the groups the user is a direct member of. */
  groups: string[];
  /** Enabled in the provider (disabled users are listed unless a filter leaves them out). */
  enabled: boolean;
  /** Values of the fixture's `attributes` (at least `name` and `probe`) as the provider returns them. */
  attrs: Record<string, unknown>;
  /** The user's `keys` as the source must report them (sources whose references use them). */
  keys?: Partial<Record<SourceKeyType, string>>;
}

export interface ExpectedGroup {
  id: string;
  name: string;
  /** Ids of the direct member users. */
  members: string[];
}

/** The backing directory as seeded, in the source's own ids and names. */
export interface ExpectedDirectory {
  users: ExpectedUser[];
  groups: ExpectedGroup[];
}

/** How the suite asks for a source: the fixture turns it into the provider's configuration. */
export interface SourceSetup {
  /**
   * With the fixture's filter (see `SourceFixture.filter`): only the users it matches are in scope.
   */
  filtered?: boolean;
  /** Only members of these groups (names) are in scope (sourceBaseSchema.requiredGroups). */
  requiredGroups?: string[];
  /** Users per page, when the provider pages; small values make multi-page listings. */
  pageSize?: number;
}

/**
 * Faults the fixture can inject into the backing directory, for the listing and the change feed:
 * - `server-error`: a 5xx answer;
 * - `drop`: the connection is closed without an answer;
 * - `empty-page`: a successful answer with no users and no continuation (claims to be the end);
 * - `short-page`: a successful answer cut short (truncated or half a body).
 */
export type FaultKind = 'server-error' | 'drop' | 'empty-page' | 'short-page';

export interface FaultSpec {
  kind: FaultKind;
  /**
   * Which requests: the first page of a read (listing or change round), the pages after it (so
   * one page arrives first), or every request for user data (single reads included).
   */
  where: 'first-page' | 'later-pages' | 'all';
  /** How many requests get it; 'always' for a persistent failure. */
  times: number | 'always';
  /** Matching requests let through first (e.g. 1 with `all`: the first request succeeds, the rest fail). */
  after?: number;
}

/** What the source asked the provider for since the fixture's `resetRequests()`. */
export interface RequestTally {
  /** Requests for user data (pages, single users, managers, memberships). */
  total: number;
  /** Requests (or inner batch requests) that read managers. */
  manager: number;
  /** Requests (or inner batch requests) that read group memberships or group lists. */
  groups: number;
}

/** Capabilities a test may need; a fixture lists those it lacks with the reason. */
export type Capability =
  | 'changes'
  | 'listGroups'
  | 'searchUsers'
  | 'filter'
  | 'requiredGroups'
  | 'manager'
  | 'groups'
  | 'paging'
  | 'faults'
  | 'requestTally'
  | 'emptyDirectory'
  | 'setManager'
  | 'groupMembership'
  | 'softDelete'
  | 'hardDelete'
  | 'expireCheckpoint'
  /** changes() of a filtered source (a user leaving the filter is removed as out-of-scope). */
  | 'filteredChanges'
  /** The complete last page of a read with groups lists the groups in scope (UserPage.groupList). */
  | 'groupList'
  /** changes() tells a group renamed with no member change (ChangePage.groups, or its members re-read). */
  | 'groupRename'
  /** changes() tells a group deleted with no member change (ChangePage.groups `deleted`, or the round's groupCensus leaves it out). */
  | 'groupDeletion';

export interface SourceFixture {
  /** A source against the backing directory, configured as `setup` says (fast retries). */
  source(setup?: SourceSetup): SourceConnector;
  /** Seeds the backing directory (the sample org, or nothing at all); clears faults and tallies. */
  seed(kind: 'sample' | 'empty'): Promise<ExpectedDirectory>;
  /**
   * Attribute names the suite reads: `name` (a display name; the sample has unicode ones),
   * `probe` (a string attribute the suite changes), and `always`: those the source returns
   * whatever the query asks (e.g. Entra's id, userPrincipalName, mail, displayName, accountEnabled).
   */
  attributes: { name: string; probe: string; always: string[] };
  /** What `filtered: true` keeps, said of the expected users (e.g. enabled ones). */
  filter?: {
    describe: string;
    includes(u: ExpectedUser): boolean;
    /** Changes the user in the backing directory so that the filter no longer matches it. */
    exclude(userId: string): Promise<void>;
  };
  /** References that name nobody: an id-shaped one and a mail/UPN-shaped one at least. */
  unknownRefs: string[];
  /** Capabilities this source or fixture lacks, with the reason shown on the skipped tests. */
  unsupported?: Partial<Record<Capability, string>>;
  /** listGroups(): whether `members` are direct members or flattened through nesting. */
  groupMembers?: 'direct' | 'transitive';

  // ---- driving the backing directory (straight, not through the source)
  setAttribute(userId: string, name: string, value: string): Promise<void>;
  setManager?(userId: string, managerId: string | null): Promise<void>;
  addMember?(groupId: string, userId: string): Promise<void>;
  removeMember?(groupId: string, userId: string): Promise<void>;
  /** Renames a group in the backing directory (its id stays, its members too). */
  renameGroup?(groupId: string, name: string): Promise<void>;
  /** Deletes a group in the backing directory (its members stay, they only lose it). */
  deleteGroup?(groupId: string): Promise<void>;
  /** `soft`: restorable (deleted items); `hard`: gone for good. */
  deleteUser(userId: string, how: 'soft' | 'hard'): Promise<void>;
  fault?(spec: FaultSpec): Promise<void>;
  /** Faults the backing directory really injected since the last seed (proves a fault test bit). Optional. */
  faultsInjected?(): Promise<number>;
  /** A transient storm (a share of requests failing with 5xx or 429) that retries get through. */
  storm?(): Promise<void>;
  clearFaults?(): Promise<void>;
  /** Makes the provider refuse every checkpoint handed out so far (e.g. expired delta tokens). */
  expireCheckpoints?(): Promise<void>;
  resetRequests?(): void;
  requests?(): RequestTally;
  close(): Promise<void>;
}

/** Fixture members a capability's tests drive the backing directory with. */
const DRIVEN_BY: Partial<Record<Capability, Array<keyof SourceFixture>>> = {
  faults: ['fault', 'storm', 'clearFaults'],
  requestTally: ['requests', 'resetRequests'],
  filter: ['filter'],
  setManager: ['setManager'],
  groupMembership: ['addMember', 'removeMember'],
  groupRename: ['renameGroup'],
  groupDeletion: ['deleteGroup'],
  expireCheckpoint: ['expireCheckpoints'],
};

// ---------------------------------------------------------------- helpers shared by the tests

const q = (over: Partial<SourceQuery> = {}): SourceQuery => ({ attributes: [], groups: false, manager: false, ...over });

interface Listing {
  pages: UserPage[];
  users: SourceUser[];
  complete: boolean;
}

/** Reads a whole listing, checking that nothing follows the page that says it is complete. */
async function list(source: SourceConnector, query: SourceQuery): Promise<Listing> {
  const pages: UserPage[] = [];
  for await (const page of source.listUsers(query)) {
    assert.ok(!pages.some((p) => p.complete), 'no page comes after the one that says the read is complete');
    assert.ok(Array.isArray(page.users), 'every page has a users array');
    pages.push(page);
  }
  return { pages, users: pages.flatMap((p) => p.users), complete: pages.some((p) => p.complete === true) };
}

/** A listing that must end normally and say it was complete. */
async function listComplete(source: SourceConnector, query: SourceQuery): Promise<Listing> {
  const l = await list(source, query);
  assert.ok(l.complete, 'a listing that ends normally says it was complete');
  assert.equal(l.pages.at(-1)?.complete, true, 'complete is on the last page');
  return l;
}

interface Changes {
  pages: ChangePage[];
  users: SourceUser[];
  removed: ChangePage['removed'];
  checkpoint: string;
  complete: boolean;
}

/** Reads one incremental round; it must end with a checkpoint on its last page only. */
async function readChanges(source: SourceConnector, checkpoint: string | null, query: SourceQuery): Promise<Changes> {
  assert.ok(source.changes, 'the source has changes()');
  const pages: ChangePage[] = [];
  for await (const page of source.changes(checkpoint, query)) {
    assert.ok(!pages.some((p) => p.checkpoint !== undefined), 'no page comes after the one carrying the checkpoint');
    assert.ok(Array.isArray(page.users) && Array.isArray(page.removed), 'every change page has users and removed arrays');
    pages.push(page);
  }
  const last = pages.at(-1);
  assert.ok(last, 'a round yields at least one page');
  assert.equal(typeof last.checkpoint, 'string', 'the last page carries the next checkpoint');
  assert.ok(pages.slice(0, -1).every((p) => p.complete === undefined), 'complete only on the last page');
  return {
    pages,
    users: pages.flatMap((p) => p.users),
    removed: pages.flatMap((p) => p.removed),
    checkpoint: last.checkpoint!,
    complete: last.complete === true,
  };
}

/** Runs a read to its end and returns what it threw (failing when it did not throw). */
async function failure(read: () => Promise<unknown>, what: string): Promise<unknown> {
  try {
    await read();
  } catch (e) {
    return e;
  }
  assert.fail(`${what} should have thrown`);
}

const sortIds = (xs: Iterable<{ id: string }>) => [...xs].map((x) => x.id).sort();
const sorted = (xs: Iterable<string>) => [...xs].sort();

function assertEachOnce(users: SourceUser[], expected: ExpectedUser[], what: string): void {
  const ids = users.map((u) => u.id);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(dupes, [], `${what}: no user twice`);
  assert.deepEqual(sorted(ids), sortIds(expected), `${what}: exactly the users in scope`);
}

/** The id of the user a manager reference names, through ids or keys; undefined when it names nobody. */
function resolveManager(ref: ManagerRef, dir: ExpectedDirectory): string | undefined {
  if ('id' in ref) return dir.users.find((u) => u.id === ref.id)?.id;
  return dir.users.find((u) => u.keys?.[ref.key]?.toLowerCase() === ref.value.toLowerCase())?.id;
}

/** The effective groups of `userId` after a change round, from its re-read record or the group changes. */
function groupsAfter(round: Changes, userId: string, before: string[], dir: ExpectedDirectory): string[] | undefined {
  const user = round.users.find((u) => u.id === userId);
  if (user?.groups) return sorted(user.groups);
  const changes = round.pages.flatMap((p) => p.groups ?? []).filter((g) => g.added.includes(userId) || g.removed.includes(userId));
  if (changes.length === 0) return undefined;
  const now = new Set(before);
  for (const c of changes) {
    const name = c.name ?? dir.groups.find((g) => g.id === c.id)?.name ?? c.id;
    if (c.added.includes(userId)) now.add(name);
    if (c.removed.includes(userId)) now.delete(name);
  }
  return sorted(now);
}

// ---------------------------------------------------------------- the suite

export function runSourceConformance(name: string, makeFixture: () => Promise<SourceFixture>): void {
  describe(`source conformance: ${name}`, () => {
    let f: SourceFixture;
    let dir: ExpectedDirectory;
    let n = 0;
    const unique = () => `${++n}`;

    before(async () => {
      f = await makeFixture();
    });
    after(async () => {
      await f?.close();
    });
    beforeEach(async () => {
      dir = await f.seed('sample');
    });

    /**
     * Whether the test may run; skips it with the fixture's reason otherwise. A capability the
     * fixture does not declare lacking must come with the fixture methods it is driven by.
     */
    const needs = (t: { skip: (m?: string) => void }, ...caps: Capability[]): boolean => {
      for (const cap of caps) {
        const reason = f.unsupported?.[cap];
        if (reason !== undefined) {
          t.skip(`${name}: no ${cap} (${reason})`);
          return false;
        }
      }
      for (const cap of caps) {
        for (const method of DRIVEN_BY[cap] ?? []) {
          assert.ok(f[method] !== undefined, `the fixture does not declare ${cap} unsupported, so it must provide ${String(method)}`);
        }
      }
      return true;
    };
    /** Users of the sample the suite picks for a test: by a predicate, failing clearly when the sample has none. */
    const pick = (what: string, p: (u: ExpectedUser) => boolean): ExpectedUser => {
      const u = dir.users.find(p);
      assert.ok(u, `the sample organisation has ${what}`);
      return u;
    };
    const probe = () => f.attributes.probe;
    /** When the fixture can tell, that the injected fault was really met (a fault test that never bit proves nothing). */
    const assertFaultsBit = async () => {
      if (f.faultsInjected) assert.ok((await f.faultsInjected()) > 0, 'the injected fault was met');
    };
    const changesOf = (s: SourceConnector) => {
      assert.equal(typeof s.changes, 'function', `${name} declares no lack of changes(), so the source must have it`);
      return s;
    };

    // ------------------------------------------------------------ the sample itself

    test('fixture: the sample organisation has managers, nested groups, disabled users and unicode names', () => {
      assert.ok(dir.users.length >= 20, 'at least 20 users');
      assert.ok(dir.users.some((u) => u.managerId) && dir.users.some((u) => !u.managerId), 'users with and without a manager');
      assert.ok(dir.users.some((u) => !u.enabled), 'disabled users');
      assert.ok(dir.users.some((u) => /[^\x00-\x7f]/.test(String(u.attrs[f.attributes.name]))), 'non-ASCII names');
      assert.ok(dir.groups.some((g) => g.members.length > 0), 'groups with members');
      const groupIds = new Set(dir.groups.map((g) => g.id));
      assert.ok(dir.groups.some((g) => g.members.some((m) => groupIds.has(m))), 'a group nested in another');
      const ids = new Set(dir.users.map((u) => u.id));
      for (const u of dir.users) if (u.managerId) assert.ok(ids.has(u.managerId), `the manager of ${u.id} is a user of the sample`);
    });

    // ------------------------------------------------------------ listing

    test('listUsers: every user exactly once over all pages, complete only on the last page', async (t) => {
      if (!needs(t, 'paging')) return;
      const l = await listComplete(f.source({ pageSize: 7 }), q({ attributes: [f.attributes.name, probe()] }));
      assert.ok(l.pages.filter((p) => p.users.length > 0).length > 1, 'a small page size gives several pages');
      assert.ok(l.pages.slice(0, -1).every((p) => p.complete === undefined), 'only the last page says complete');
      assertEachOnce(l.users, dir.users, 'the listing');
      const byId = new Map(l.users.map((u) => [u.id, u]));
      for (const e of dir.users) {
        const got = byId.get(e.id)!;
        for (const a of [f.attributes.name, probe()]) assert.deepEqual(got.attrs[a], e.attrs[a], `${a} of ${e.id}`);
        assert.equal(got.outOfScope, undefined, 'a listing never returns users out of scope');
        if (e.keys) for (const [k, v] of Object.entries(e.keys)) assert.equal(got.keys?.[k as SourceKeyType], v, `key ${k} of ${e.id}`);
      }
    });

    test('listUsers: unicode names and disabled users come through unchanged', async () => {
      const { users } = await listComplete(f.source(), q({ attributes: [f.attributes.name] }));
      const unicode = pick('a non-ASCII name', (u) => /[^\x00-\x7f]/.test(String(u.attrs[f.attributes.name])));
      assert.equal(users.find((u) => u.id === unicode.id)?.attrs[f.attributes.name], unicode.attrs[f.attributes.name]);
      const disabled = pick('a disabled user', (u) => !u.enabled);
      assert.ok(users.some((u) => u.id === disabled.id), 'a disabled user is listed when no filter leaves it out');
    });

    test('listUsers: the filter narrows the listing to the users it matches', async (t) => {
      if (!needs(t, 'filter')) return;
      const inScope = dir.users.filter((u) => f.filter!.includes(u));
      assert.ok(inScope.length > 0 && inScope.length < dir.users.length, `the filter (${f.filter!.describe}) keeps some users and leaves some out`);
      const wantManager = f.unsupported?.manager === undefined;
      const { users } = await listComplete(f.source({ filtered: true, pageSize: 7 }), q({ manager: wantManager }));
      assertEachOnce(users, inScope, `the listing under ${f.filter!.describe}`);
      // A manager the filter leaves out is still referenced: the engine resolves it (or uses its attrs).
      if (wantManager) {
        const expected = new Map(dir.users.map((u) => [u.id, u]));
        for (const u of users) {
          const managerId = expected.get(u.id)!.managerId;
          if (managerId) assert.equal(u.manager && resolveManager(u.manager, dir), managerId, `the manager of ${u.id}, in scope or not`);
          else assert.equal(u.manager, null, `${u.id} has no manager`);
        }
      }
    });

    test('listUsers: required groups keep only their members, with and without groups asked', async (t) => {
      if (!needs(t, 'requiredGroups')) return;
      const group = dir.groups.find((g) => g.members.length > 1 && g.members.length < dir.users.length / 2);
      assert.ok(group, 'the sample has a group with some members');
      const members = dir.users.filter((u) => group.members.includes(u.id));
      const s = f.source({ requiredGroups: [group.name] });
      assertEachOnce((await listComplete(s, q())).users, members, 'required group, no groups asked');
      if (f.unsupported?.groups === undefined) {
        const withGroups = await listComplete(s, q({ groups: true }));
        assertEachOnce(withGroups.users, members, 'required group, groups asked');
        for (const u of withGroups.users) assert.ok(u.groups?.includes(group.name), `${u.id} lists its required group`);
      }
    });

    test('listUsers: an empty directory is complete and empty', async (t) => {
      if (!needs(t, 'emptyDirectory')) return;
      dir = await f.seed('empty');
      const l = await listComplete(f.source(), q({ attributes: [probe()] }));
      assert.deepEqual(l.users, [], 'no users');
    });

    // ------------------------------------------------------------ failures

    test('a persistent 5xx after the first page makes listUsers throw: never an early end, never complete', async (t) => {
      if (!needs(t, 'faults', 'paging')) return;
      await f.fault!({ kind: 'server-error', where: 'later-pages', times: 'always' });
      const seen: UserPage[] = [];
      const e = await failure(async () => {
        for await (const p of f.source({ pageSize: 7 }).listUsers(q())) seen.push(p);
      }, 'a listing whose later pages fail');
      assert.ok(isIdsyncError(e), `an IdsyncError, not ${String(e)}`);
      assert.equal(reactionTo(e, 'source'), 'stop-run', 'the policy stops the run');
      assert.ok(!seen.some((p) => p.complete), 'no page said complete');
      assert.ok(seen.flatMap((p) => p.users).length < dir.users.length, 'the fault bit before the end');
      await assertFaultsBit();
    });

    test('a persistently dropped connection makes listUsers throw', async (t) => {
      if (!needs(t, 'faults', 'paging')) return;
      await f.fault!({ kind: 'drop', where: 'later-pages', times: 'always' });
      const seen: UserPage[] = [];
      const e = await failure(async () => {
        for await (const p of f.source({ pageSize: 7 }).listUsers(q())) seen.push(p);
      }, 'a listing whose connection drops');
      assert.ok(isIdsyncError(e, 'TRANSIENT'), `a TRANSIENT IdsyncError, not ${String(e)}`);
      assert.ok(!seen.some((p) => p.complete), 'no page said complete');
      await assertFaultsBit();
    });

    for (const kind of ['empty-page', 'short-page'] as const) {
      for (const where of ['first-page', 'later-pages'] as const) {
        for (const filtered of [false, true]) {
          const page = where === 'first-page' ? 'first page' : 'pages after the first';
          test(`an ${kind} answer on the ${page}${filtered ? ' of a filtered listing' : ''} is never the end of the directory: the listing throws or reads everyone`, async (t) => {
            if (!needs(t, 'faults', 'paging', ...(filtered ? (['filter'] as const) : []))) return;
            const inScope = filtered ? dir.users.filter((u) => f.filter!.includes(u)) : dir.users;
            await f.fault!({ kind, where, times: 1 });
            let l: Listing | undefined;
            try {
              l = await list(f.source({ pageSize: 7, filtered }), q());
            } catch (e) {
              assert.ok(isIdsyncError(e), `an IdsyncError, not ${String(e)}`);
              await assertFaultsBit();
              return;
            }
            await assertFaultsBit();
            // Not thrown: then the source must have noticed and read again, so nobody is missing.
            if (l.complete) assertEachOnce(l.users, inScope, `a complete listing despite an ${kind}`);
            else assert.fail(`a listing that neither threw nor said complete ended early (${l.users.length} of ${inScope.length} users)`);
          });
        }
      }
    }

    test('a transient storm converges: every user exactly once, complete', async (t) => {
      if (!needs(t, 'faults', 'paging')) return;
      await f.storm!();
      const want = q({ manager: f.unsupported?.manager === undefined, groups: f.unsupported?.groups === undefined });
      const l = await listComplete(f.source({ pageSize: 7 }), want);
      await f.clearFaults!();
      assertEachOnce(l.users, dir.users, 'the listing through the storm');
      await assertFaultsBit();
    });

    test('a single dropped connection is retried: every user exactly once, complete', async (t) => {
      if (!needs(t, 'faults', 'paging')) return;
      await f.fault!({ kind: 'drop', where: 'later-pages', times: 1 });
      assertEachOnce((await listComplete(f.source({ pageSize: 7 }), q())).users, dir.users, 'the listing after one drop');
      await assertFaultsBit();
    });

    test('abort: an aborted signal stops the listing before it asks anything, and mid-listing after the current page', async (t) => {
      if (!needs(t, 'requestTally', 'paging')) return;
      const s = f.source({ pageSize: 5 });
      f.resetRequests!();
      const full = await listComplete(s, q());
      const fullRequests = f.requests!().total;
      assert.ok(full.pages.length > 3, 'the full listing took several pages');

      f.resetRequests!();
      const aborted = new AbortController();
      aborted.abort();
      await assert.rejects(list(f.source({ pageSize: 5 }), q({ signal: aborted.signal })), 'an aborted listing throws');
      assert.equal(f.requests!().total, 0, 'no data request for an already aborted listing');

      f.resetRequests!();
      const cancel = new AbortController();
      let after = 0;
      await assert.rejects(
        (async () => {
          for await (const p of f.source({ pageSize: 5 }).listUsers(q({ signal: cancel.signal }))) {
            if (cancel.signal.aborted) after++;
            if (p.users.length) cancel.abort();
          }
        })(),
        'a listing cancelled mid-way throws',
      );
      assert.equal(after, 0, 'no page is yielded after the abort');
      // Read ahead may have asked a few pages; the rest of the directory is never asked for.
      // A second full listing (of known cost) gives requests still on their way time to land.
      await listComplete(f.source({ pageSize: 5 }), q());
      const cancelled = f.requests!().total - fullRequests;
      assert.ok(cancelled < fullRequests / 2, `a cancelled listing stops asking: ${cancelled} requests, a full one ${fullRequests}`);
    });

    // ------------------------------------------------------------ economy

    test('only what is asked is read: attributes, and the manager and groups only on request', async (t) => {
      const l = await listComplete(f.source(), q({ attributes: [probe()] }));
      const allowed = new Set([...f.attributes.always, probe()]);
      for (const u of l.users) {
        const extra = Object.keys(u.attrs).filter((k) => !allowed.has(k));
        assert.deepEqual(extra, [], `attrs of ${u.id} hold only the asked attributes and the source's fixed ones`);
        assert.equal(u.manager, undefined, 'no manager when not asked');
        assert.equal(u.groups, undefined, 'no groups when not asked');
        assert.equal('manager' in u.attrs, false, 'the manager is never among the attributes');
      }
      if (!needs(t, 'requestTally')) return;
      f.resetRequests!();
      await listComplete(f.source(), q({ attributes: [probe()] }));
      const plain = f.requests!();
      assert.equal(plain.manager, 0, 'no manager request when the manager is not asked');
      assert.equal(plain.groups, 0, 'no membership request when groups are not asked');
      if (f.unsupported?.manager === undefined) {
        f.resetRequests!();
        await listComplete(f.source(), q({ manager: true }));
        assert.ok(f.requests!().manager > 0, 'managers are read when asked');
      }
      if (f.unsupported?.groups === undefined) {
        f.resetRequests!();
        await listComplete(f.source(), q({ groups: true }));
        assert.ok(f.requests!().groups > 0, 'memberships are read when asked');
      }
    });

    // ------------------------------------------------------------ managers and groups

    test('manager: a reference beside the attributes, resolvable to a user of the directory; null without one', async (t) => {
      if (!needs(t, 'manager')) return;
      const { users } = await listComplete(f.source({ pageSize: 7 }), q({ manager: true }));
      const byId = new Map(users.map((u) => [u.id, u]));
      for (const e of dir.users) {
        const got = byId.get(e.id)!;
        assert.equal('manager' in got.attrs, false, 'the manager is never among the attributes');
        if (!e.managerId) {
          assert.equal(got.manager, null, `${e.id} has no manager: null`);
          continue;
        }
        assert.ok(got.manager, `${e.id} has a manager reference`);
        assert.equal(resolveManager(got.manager, dir), e.managerId, `the manager reference of ${e.id} names its manager`);
      }
    });

    test('groups: names of the groups each user is a member of', async (t) => {
      if (!needs(t, 'groups')) return;
      const { users } = await listComplete(f.source({ pageSize: 7 }), q({ groups: true }));
      const byId = new Map(users.map((u) => [u.id, u]));
      for (const e of dir.users) {
        const got = byId.get(e.id)!;
        assert.ok(Array.isArray(got.groups), `${e.id} has groups`);
        assert.deepEqual(sorted(got.groups), sorted(e.groups), `groups of ${e.id}`);
      }
    });

    // ------------------------------------------------------------ one user

    test('getUser: by id and by every other reference, with the asked data', async () => {
      const s = f.source();
      const wantManager = f.unsupported?.manager === undefined;
      const wantGroups = f.unsupported?.groups === undefined;
      const query = q({ attributes: [probe()], manager: wantManager, groups: wantGroups });
      const managed = pick('a user with a manager, groups and other references', (u) => !!u.managerId && u.groups.length > 0 && u.refs.length > 0);
      const boss = pick('a user without a manager', (u) => !u.managerId);
      for (const e of [managed, boss]) {
        for (const ref of [e.id, ...e.refs]) {
          const got = await s.getUser(ref, query);
          assert.equal(got?.id, e.id, `found by ${ref}`);
          assert.equal(got.outOfScope, undefined, 'in scope');
          assert.deepEqual(got.attrs[probe()], e.attrs[probe()], `${probe()} of ${e.id}`);
          assert.equal('manager' in got.attrs, false, 'the manager is never among the attributes');
          if (wantManager) {
            if (e.managerId) assert.equal(got.manager && resolveManager(got.manager, dir), e.managerId, `manager of ${ref}`);
            else assert.equal(got.manager, null, `${ref} has no manager`);
          }
          if (wantGroups) assert.deepEqual(sorted(got.groups ?? []), sorted(e.groups), `groups of ${ref}`);
        }
      }
    });

    test('getUser: null only for a user that does not exist; a deleted user is null', async () => {
      const s = f.source();
      for (const ref of f.unknownRefs) assert.equal(await s.getUser(ref, q()), null, `${ref} names nobody`);
      const gone = dir.users.at(-1)!;
      await f.deleteUser(gone.id, f.unsupported?.hardDelete === undefined ? 'hard' : 'soft');
      assert.equal(await s.getUser(gone.id, q()), null, 'a deleted user is null');
      assertEachOnce((await listComplete(s, q())).users, dir.users.slice(0, -1), 'the listing after the delete');
    });

    test('getUser: a failure throws, never null', async (t) => {
      if (!needs(t, 'faults')) return;
      const e = pick('a user', () => true);
      await f.fault!({ kind: 'server-error', where: 'all', times: 'always' });
      await assert.rejects(f.source().getUser(e.id, q()), (err: unknown) => isIdsyncError(err), 'a failed read throws an IdsyncError');
    });

    test('getUser: a user outside the filter is returned with outOfScope', async (t) => {
      if (!needs(t, 'filter')) return;
      const out = pick('a user the filter leaves out', (u) => !f.filter!.includes(u));
      const inside = pick('a user the filter keeps', (u) => f.filter!.includes(u));
      const s = f.source({ filtered: true });
      const got = await s.getUser(out.id, q());
      assert.equal(got?.id, out.id, 'a user outside the filter is still found');
      assert.ok(typeof got.outOfScope === 'string' && got.outOfScope.length > 0, 'and says why it is out of scope');
      assert.equal((await s.getUser(inside.id, q()))?.outOfScope, undefined, 'a user the filter keeps is in scope');
    });

    test('getUser: with required groups a non-member is out of scope or shows groups without them', async (t) => {
      if (!needs(t, 'requiredGroups')) return;
      const group = dir.groups.find((g) => g.members.length > 0 && g.members.length < dir.users.length)!;
      const outsider = pick('a user outside a group', (u) => !group.members.includes(u.id));
      const got = await f.source({ requiredGroups: [group.name] }).getUser(outsider.id, q());
      assert.ok(got, 'a non-member exists');
      assert.ok(got.outOfScope !== undefined || (got.groups !== undefined && !got.groups.includes(group.name)), 'the engine can tell the user is outside the required groups');
    });

    // ------------------------------------------------------------ changes()

    test('changes(null) seeds: every user in scope, a checkpoint, complete', async (t) => {
      if (!needs(t, 'changes')) return;
      const s = changesOf(f.source({ pageSize: 7 }));
      const wantManager = f.unsupported?.manager === undefined;
      const wantGroups = f.unsupported?.groups === undefined;
      const seed = await readChanges(s, null, q({ attributes: [probe()], manager: wantManager, groups: wantGroups }));
      assert.ok(seed.complete, 'a seeding round says it is complete');
      assertEachOnce(seed.users, dir.users, 'the seeding round');
      assert.deepEqual(seed.removed, [], 'a seeding round removes nobody');
      const byId = new Map(seed.users.map((u) => [u.id, u]));
      for (const e of dir.users) {
        const got = byId.get(e.id)!;
        assert.deepEqual(got.attrs[probe()], e.attrs[probe()], `${probe()} of ${e.id}`);
        assert.equal('manager' in got.attrs, false, 'the manager is never among the attributes');
        if (wantManager) {
          if (e.managerId) assert.equal(got.manager && resolveManager(got.manager, dir), e.managerId, `the manager of ${e.id}`);
          else assert.equal(got.manager, null, `${e.id} has no manager`);
        }
        // Groups come on the users or as group changes of the round; either way each user's must add up.
        if (wantGroups) assert.deepEqual(groupsAfter(seed, e.id, [], dir) ?? [], sorted(e.groups), `groups of ${e.id}`);
      }
    });

    test('changes: checkpoints are opaque strings that survive a JSON round trip; no change returns nothing', async (t) => {
      if (!needs(t, 'changes')) return;
      const query = q({ attributes: [probe()] });
      const seed = await readChanges(changesOf(f.source()), null, query);
      const stored = JSON.parse(JSON.stringify({ checkpoint: seed.checkpoint })).checkpoint as string;
      assert.equal(stored, seed.checkpoint, 'a checkpoint survives JSON');
      // A fresh source (another process, after a restart) continues from the stored checkpoint.
      f.resetRequests?.();
      const next = await readChanges(f.source(), stored, query);
      if (f.requests) assert.ok(f.requests().total <= 3, `a round without changes takes a few requests, not a listing (${f.requests().total})`);
      assert.deepEqual(next.users.map((u) => u.id), [], 'no user after no change');
      assert.deepEqual(next.removed, [], 'no removal after no change');
      assert.ok(!next.complete, 'an incremental round is not a complete read');
      const again = await readChanges(f.source(), next.checkpoint, query);
      assert.deepEqual([again.users.length, again.removed.length], [0, 0], 'still nothing from the next checkpoint');
    });

    test('changes: a changed attribute returns that user with its new value', async (t) => {
      if (!needs(t, 'changes')) return;
      const query = q({ attributes: [probe()] });
      const s = changesOf(f.source());
      const seed = await readChanges(s, null, query);
      const e = pick('a user', (u) => u.enabled);
      const value = `Changed ${unique()} Ünïcødé`;
      await f.setAttribute(e.id, probe(), value);
      const round = await readChanges(s, seed.checkpoint, query);
      const got = round.users.filter((u) => u.id === e.id);
      assert.equal(got.length, 1, 'the changed user once');
      assert.equal(got[0]!.attrs[probe()], value, 'with its new value');
      assert.ok(round.users.length < dir.users.length / 2, `only changed users, not everyone (${round.users.length})`);
      const after = await readChanges(s, round.checkpoint, query);
      assert.equal(after.users.some((u) => u.id === e.id), false, 'not again from the next checkpoint');
    });

    for (const how of ['soft', 'hard'] as const) {
      test(`changes: a ${how} delete returns a removal with reason ${how === 'soft' ? 'soft-deleted' : 'deleted'}`, async (t) => {
        if (!needs(t, 'changes', how === 'soft' ? 'softDelete' : 'hardDelete')) return;
        const s = changesOf(f.source());
        const seed = await readChanges(s, null, q());
        const e = pick('a user without reports', (u) => !dir.users.some((x) => x.managerId === u.id));
        await f.deleteUser(e.id, how);
        const round = await readChanges(s, seed.checkpoint, q());
        const removals = round.removed.filter((r) => r.id === e.id);
        assert.deepEqual(removals, [{ id: e.id, reason: how === 'soft' ? 'soft-deleted' : 'deleted' }], 'one removal with the right reason');
        assert.equal(round.users.some((u) => u.id === e.id), false, 'a removed user is not also returned as changed');
      });
    }

    test('changes: a manager change returns the user with the new reference; a cleared manager gives null', async (t) => {
      if (!needs(t, 'changes', 'manager', 'setManager')) return;
      const query = q({ manager: true });
      const s = changesOf(f.source());
      const seed = await readChanges(s, null, query);
      const e = pick('a user with a manager', (u) => !!u.managerId);
      const other = pick('another possible manager', (u) => u.id !== e.id && u.id !== e.managerId && u.managerId !== e.id);
      await f.setManager!(e.id, other.id);
      const round = await readChanges(s, seed.checkpoint, query);
      const got = round.users.find((u) => u.id === e.id);
      assert.ok(got, 'the user whose manager changed is returned');
      assert.ok(got.manager, 'with a manager reference');
      assert.equal(resolveManager(got.manager, dir), other.id, 'naming the new manager');
      await f.setManager!(e.id, null);
      const cleared = await readChanges(s, round.checkpoint, query);
      assert.equal(cleared.users.find((u) => u.id === e.id)?.manager, null, 'a cleared manager is returned as null');
    });

    test('changes: a membership change returns the user with its new groups (or the group change)', async (t) => {
      if (!needs(t, 'changes', 'groups', 'groupMembership')) return;
      const query = q({ groups: true });
      const s = changesOf(f.source());
      const seed = await readChanges(s, null, query);
      const e = pick('a user in some groups', (u) => u.groups.length > 0);
      const joined = dir.groups.find((g) => !g.members.includes(e.id) && !e.groups.includes(g.name));
      assert.ok(joined, 'a group the user is not in');
      const left = dir.groups.find((g) => g.name === e.groups[0])!;
      await f.addMember!(joined.id, e.id);
      const added = await readChanges(s, seed.checkpoint, query);
      const afterAdd = groupsAfter(added, e.id, e.groups, dir);
      assert.deepEqual(afterAdd, sorted([...e.groups, joined.name]), 'the new group appears');
      await f.removeMember!(left.id, e.id);
      const removed = await readChanges(s, added.checkpoint, query);
      const afterRemove = groupsAfter(removed, e.id, afterAdd!, dir);
      assert.deepEqual(afterRemove, sorted(afterAdd!.filter((g) => g !== left.name)), 'the left group is gone');
    });

    test('changes: a user leaving the filter is removed as out-of-scope', async (t) => {
      if (!needs(t, 'changes', 'filter', 'filteredChanges')) return;
      const s = changesOf(f.source({ filtered: true }));
      const seed = await readChanges(s, null, q());
      assertEachOnce(seed.users, dir.users.filter((u) => f.filter!.includes(u)), 'a filtered seeding round');
      const e = pick('a user the filter keeps', (u) => f.filter!.includes(u));
      await f.filter!.exclude(e.id);
      const round = await readChanges(s, seed.checkpoint, q());
      assert.deepEqual(round.removed.filter((r) => r.id === e.id), [{ id: e.id, reason: 'out-of-scope' }], 'removed as out of scope');
    });

    test('changes: a transient storm converges: the seeding round and the next one are whole', async (t) => {
      if (!needs(t, 'changes', 'faults', 'paging')) return;
      const s = changesOf(f.source({ pageSize: 7 }));
      await f.storm!();
      const seed = await readChanges(s, null, q({ attributes: [probe()] }));
      assertEachOnce(seed.users, dir.users, 'the seeding round through the storm');
      const e = dir.users[2]!;
      const value = `Stormy ${unique()}`;
      await f.setAttribute(e.id, probe(), value);
      const round = await readChanges(s, seed.checkpoint, q({ attributes: [probe()] }));
      await f.clearFaults!();
      assert.equal(round.users.find((u) => u.id === e.id)?.attrs[probe()], value, 'the change came through the storm');
      await assertFaultsBit();
    });

    test('changes: a changed query makes the checkpoint throw CHECKPOINT_EXPIRED', async (t) => {
      if (!needs(t, 'changes')) return;
      const s = changesOf(f.source());
      const seed = await readChanges(s, null, q({ attributes: [probe()] }));
      const other = q({ attributes: [probe(), f.attributes.name, 'someOtherAttribute'], manager: f.unsupported?.manager === undefined });
      const e = await failure(() => readChanges(s, seed.checkpoint, other), 'a checkpoint read with another query');
      assert.ok(isIdsyncError(e, 'CHECKPOINT_EXPIRED'), `CHECKPOINT_EXPIRED, not ${String(e)}`);
      assert.equal(reactionTo(e, 'source'), 'full-read', 'the policy falls back to a full read');
    });

    test('changes: an expired checkpoint throws CHECKPOINT_EXPIRED; so does a garbled one', async (t) => {
      if (!needs(t, 'changes', 'expireCheckpoint')) return;
      const s = changesOf(f.source());
      const seed = await readChanges(s, null, q());
      await f.expireCheckpoints!();
      const e = await failure(() => readChanges(s, seed.checkpoint, q()), 'an expired checkpoint');
      assert.ok(isIdsyncError(e, 'CHECKPOINT_EXPIRED'), `CHECKPOINT_EXPIRED, not ${String(e)}`);
      const garbled = await failure(() => readChanges(s, `${seed.checkpoint.slice(0, 5)}not-a-checkpoint`, q()), 'a garbled checkpoint');
      assert.ok(isIdsyncError(garbled, 'CHECKPOINT_EXPIRED'), `a garbled checkpoint is CHECKPOINT_EXPIRED, not ${String(garbled)}`);
    });

    test('changes: a failed page throws, without a checkpoint', async (t) => {
      if (!needs(t, 'changes', 'faults', 'paging')) return;
      const s = changesOf(f.source({ pageSize: 7 }));
      // The probe is asked for: a provider may track only the selected attributes (Graph delta does).
      const query = q({ attributes: [probe()] });
      // The first request of the round is answered; every later one fails.
      await f.fault!({ kind: 'server-error', where: 'all', times: 'always', after: 1 });
      const seen: ChangePage[] = [];
      const e = await failure(async () => {
        for await (const p of s.changes!(null, query)) seen.push(p);
      }, 'a seeding round whose later requests fail');
      assert.ok(isIdsyncError(e), `an IdsyncError, not ${String(e)}`);
      assert.notEqual((e as { code?: string }).code, 'CHECKPOINT_EXPIRED', 'a failure is not an expired checkpoint');
      assert.ok(!seen.some((p) => p.checkpoint !== undefined || p.complete), 'no checkpoint and no complete from a failed round');
      await f.clearFaults!();

      const seed = await readChanges(s, null, query);
      await f.setAttribute(dir.users[1]!.id, probe(), `Changed ${unique()}`);
      await f.fault!({ kind: 'server-error', where: 'all', times: 'always' });
      const inc = await failure(() => readChanges(s, seed.checkpoint, query), 'an incremental round that fails');
      assert.ok(isIdsyncError(inc) && inc.code !== 'CHECKPOINT_EXPIRED', `an IdsyncError other than CHECKPOINT_EXPIRED, not ${String(inc)}`);
      await f.clearFaults!();
      const retried = await readChanges(s, seed.checkpoint, query);
      assert.ok(retried.users.some((u) => u.id === dir.users[1]!.id), 'the same checkpoint still gives the change once the provider answers');
    });

    // ------------------------------------------------------------ the groups in scope (UserPage.groupList)

    /** The group list of a complete read: on its last page only, each id once, exactly the sample's groups. */
    const assertGroupList = (pages: Array<UserPage | ChangePage>, users: SourceUser[], what: string): SourceGroup[] => {
      assert.ok(pages.slice(0, -1).every((p) => p.groupList === undefined), `${what}: only the last page carries groupList`);
      const list = pages.at(-1)?.groupList;
      assert.ok(Array.isArray(list), `${what}: the complete last page carries groupList`);
      const ids = list.map((g) => g.id);
      assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], `${what}: no group twice`);
      assert.deepEqual(sorted(ids), sortIds(dir.groups), `${what}: every group in scope, by the provider's id`);
      const expected = new Map(dir.groups.map((g) => [g.id, g.name]));
      for (const g of list) assert.equal(g.name, expected.get(g.id), `${what}: the name of ${g.id}`);
      const names = new Set(list.map((g) => g.name));
      for (const u of users) for (const n of u.groups ?? []) assert.ok(names.has(n), `${what}: ${u.id}'s group '${n}' is in the list`);
      return list;
    };

    test('groupList: a complete read with groups lists every group in scope, by stable id and the names records carry', async (t) => {
      if (!needs(t, 'groups', 'groupList')) return;
      const first = await listComplete(f.source({ pageSize: 7 }), q({ groups: true }));
      const a = assertGroupList(first.pages, first.users, 'the first read');
      const again = await listComplete(f.source({ pageSize: 7 }), q({ groups: true }));
      const b = assertGroupList(again.pages, again.users, 'the second read');
      assert.deepEqual(new Map(b.map((g) => [g.id, g.name])), new Map(a.map((g) => [g.id, g.name])), 'the same ids and names on every read');
      const without = await listComplete(f.source(), q());
      assert.ok(without.pages.every((p) => p.groupList === undefined), 'a read without groups lists no groups');
    });

    test('groupList: a read that fails carries no group list', async (t) => {
      if (!needs(t, 'groups', 'groupList', 'faults', 'paging')) return;
      await f.fault!({ kind: 'server-error', where: 'later-pages', times: 'always' });
      const seen: UserPage[] = [];
      await failure(async () => {
        for await (const p of f.source({ pageSize: 7 }).listUsers(q({ groups: true }))) seen.push(p);
      }, 'a listing with groups whose later pages fail');
      assert.ok(seen.every((p) => p.groupList === undefined && !p.complete), 'no page carried a group list or said complete');
      await assertFaultsBit();
    });

    test('groupList: a seeding round lists the groups in scope on its complete last page', async (t) => {
      if (!needs(t, 'changes', 'groups', 'groupList')) return;
      const round = await readChanges(changesOf(f.source()), null, q({ groups: true }));
      assert.ok(round.complete, 'the seeding round is complete');
      assertGroupList(round.pages, round.users, 'the seeding round');
    });

    test('changes: a group renamed with no member change comes back under its new name', async (t) => {
      if (!needs(t, 'changes', 'groups', 'groupRename')) return;
      const query = q({ groups: true });
      const s = changesOf(f.source());
      const seed = await readChanges(s, null, query);
      const userIds = new Set(dir.users.map((u) => u.id));
      const group = dir.groups.find((g) => g.members.some((m) => userIds.has(m)));
      assert.ok(group, 'a group with user members');
      const renamed = `${group.name} (renamed ${unique()})`;
      await f.renameGroup!(group.id, renamed);
      const round = await readChanges(s, seed.checkpoint, query);
      const told = round.pages.flatMap((p) => p.groups ?? []).filter((g) => g.id === group.id);
      assert.ok(told.every((g) => !g.deleted), 'a rename is never a deletion');
      if (!told.some((g) => g.name === renamed)) {
        // Not told by id: then every member must be re-read carrying the new name.
        for (const m of group.members.filter((id) => userIds.has(id))) {
          const u = round.users.find((x) => x.id === m);
          assert.ok(u?.groups?.includes(renamed) && !u.groups.includes(group.name), `member ${m} re-read under the new name`);
        }
      }
      const calm = await readChanges(s, round.checkpoint, query);
      assert.ok(!calm.pages.flatMap((p) => p.groups ?? []).some((g) => g.id === group.id && g.name !== renamed), 'the next round tells no other name');
    });

    /** A round's census of groups (ChangePage.groupCensus), when it gives one: on its last page only, each id once. */
    const censusOf = (round: Changes, what: string): string[] | undefined => {
      assert.ok(round.pages.slice(0, -1).every((p) => p.groupCensus === undefined), `${what}: only the last page carries groupCensus`);
      const census = round.pages.at(-1)?.groupCensus;
      if (census === undefined) return undefined;
      assert.deepEqual(census.filter((id, i) => census.indexOf(id) !== i), [], `${what}: no group twice in the census`);
      return sorted(census);
    };

    test('changes: a group deleted with no member change is told, by a deletion or by the round\'s census', async (t) => {
      if (!needs(t, 'changes', 'groups', 'groupDeletion')) return;
      const query = q({ groups: true });
      const s = changesOf(f.source());
      const seed = await readChanges(s, null, query);
      const calm = await readChanges(s, seed.checkpoint, query);
      const before = censusOf(calm, 'a round with no change');
      if (before) assert.deepEqual(before, sortIds(dir.groups), 'a census lists every group in scope, by the ids groupList uses');
      const userIds = new Set(dir.users.map((u) => u.id));
      const group = dir.groups.find((g) => g.members.some((m) => userIds.has(m)));
      assert.ok(group, 'a group with user members');
      await f.deleteGroup!(group.id);
      const round = await readChanges(s, calm.checkpoint, query);
      const told = round.pages.flatMap((p) => p.groups ?? []).some((g) => g.id === group.id && (g.deleted === true || g.left === true));
      const census = censusOf(round, 'the round after the deletion');
      if (census) assert.deepEqual(census, sortIds(dir.groups.filter((g) => g.id !== group.id)), 'the census lists every other group in scope, and not the deleted one');
      assert.ok(told || census !== undefined, 'the deletion is told: ChangePage.groups says deleted, or the census leaves the group out');
    });

    test('changes: a round that fails carries no census of groups', async (t) => {
      if (!needs(t, 'changes', 'groups', 'groupDeletion', 'faults')) return;
      const query = q({ groups: true });
      const s = changesOf(f.source());
      const seed = await readChanges(s, null, query);
      await f.fault!({ kind: 'server-error', where: 'all', times: 'always' });
      const seen: ChangePage[] = [];
      await failure(async () => {
        for await (const p of s.changes!(seed.checkpoint, query)) seen.push(p);
      }, 'a round whose requests fail');
      assert.ok(seen.every((p) => p.groupCensus === undefined && p.checkpoint === undefined), 'no page carried a census or a checkpoint');
      await assertFaultsBit();
    });

    // ------------------------------------------------------------ listGroups(), searchUsers(), test()

    test('listGroups: each group once, with its members', async (t) => {
      if (!needs(t, 'listGroups')) return;
      const s = f.source();
      assert.equal(typeof s.listGroups, 'function', `${name} declares no lack of listGroups(), so the source must have it`);
      const groups: SourceGroup[] = [];
      for await (const batch of s.listGroups!(q({ groups: true }))) groups.push(...batch);
      const ids = groups.map((g) => g.id);
      assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'no group twice');
      assert.deepEqual(sorted(ids), sortIds(dir.groups), 'every group');
      const userIds = new Set(dir.users.map((u) => u.id));
      const expected = new Map(dir.groups.map((g) => [g.id, g]));
      for (const g of groups) {
        const e = expected.get(g.id)!;
        assert.equal(g.name, e.name, `name of ${g.id}`);
        assert.ok(Array.isArray(g.members), `members of ${e.name}`);
        const members = sorted(g.members);
        if ((f.groupMembers ?? 'direct') === 'direct') assert.deepEqual(members, sorted(e.members.filter((m) => userIds.has(m))), `direct members of ${e.name}`);
        else assert.ok(e.members.filter((m) => userIds.has(m)).every((m) => members.includes(m)), `members of ${e.name} include its direct members`);
      }
    });

    test('searchUsers: by the start of a name, case-insensitively, at most limit', async (t) => {
      if (!needs(t, 'searchUsers')) return;
      const s = f.source();
      assert.equal(typeof s.searchUsers, 'function', `${name} declares no lack of searchUsers(), so the source must have it`);
      const e = pick('a user with an ASCII name', (u) => /^[A-Za-z]{3}/.test(String(u.attrs[f.attributes.name])));
      const prefix = String(e.attrs[f.attributes.name]).slice(0, 3);
      const hits = await s.searchUsers!(prefix.toUpperCase(), 100);
      assert.ok(hits.some((h) => h.id === e.id), `${e.id} found by ${prefix.toUpperCase()}`);
      assert.ok((await s.searchUsers!(prefix.slice(0, 1), 2)).length <= 2, 'at most limit hits');
      assert.deepEqual(await s.searchUsers!('zz-nobody-starts-like-this', 5), [], 'no hit for a prefix nobody has');
    });

    test('test(): every check passes against a healthy directory', async () => {
      const r = await f.source().test();
      assert.ok(r.ok, `test() passes: ${JSON.stringify(r.checks)}`);
      assert.ok(r.checks.length > 0, 'test() reports its checks');
    });
  });
}
