// Per-user and per-group membership reading against the Graph emulator: same `groups` for
// every user, far fewer Graph calls per group, `auto` choosing by the request estimate,
// failures that fail the listing, groupFilter, requiredGroups without double reading, and
// per-user batches of the next page overlapping the consumer's work on this one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../emulators/graph/index.ts';
import { generateOrg, MANY_GROUPS_USER_INDEX } from '../../../emulators/org/index.ts';
import type { Org } from '../../../emulators/org/types.ts';
import type { SourceGroup, SourceQuery, SourceUser, UserPage } from '../../core/types.ts';
import type { EntraSource } from './index.ts';
import { cheaperStrategy, estimatedRequests } from './strategy.ts';
import { emulatedSources } from './testing.ts';

const SECRET_ENV = 'IDSYNC_TEST_ENTRA_STRATEGY_SECRET';
const org2000 = withNestedOnlyAdmin(generateOrg({ users: 2000, seed: 5 }));
let emu: GraphEmulator;

before(async () => {
  emu = await startGraphEmulator({ org: org2000 });
});
after(async () => {
  await closeAll();
  await emu.close();
});

const { source, closeAll } = emulatedSources(() => emu, SECRET_ENV);

const withGroups: SourceQuery = { attributes: ['groups', 'userType'], groups: true, manager: false };

async function readAll(s: EntraSource, query: SourceQuery = withGroups): Promise<SourceUser[]> {
  const users: SourceUser[] = [];
  for await (const page of s.listUsers(query)) users.push(...page.users);
  return users;
}

const groupsById = (users: SourceUser[]) => new Map(users.map((u) => [u.id, u.groups]));

/** Seeds the emulator with `org` for the duration of `fn`, then restores the 2,000-user org. */
async function withOrg<T>(org: Org, fn: () => Promise<T>): Promise<T> {
  emu.directory.replace(org);
  try {
    return await fn();
  } finally {
    emu.directory.replace(org2000);
  }
}

/** An org built so one jira administrator belongs to jira-users only through the nested jira-administrators group. */
function withNestedOnlyAdmin(org: Org): Org {
  const admin = org.groups.find((g) => g.displayName === 'jira-administrators')!.members[0]!;
  const jira = org.groups.find((g) => g.displayName === 'jira-users')!;
  jira.members = jira.members.filter((m) => m !== admin);
  return org;
}

/** Another generated org served under the same tenant, so the sources' sign-in still works. */
function sameTenant(org: Org): Org {
  return { ...org, tenantId: org2000.tenantId, initialDomain: org2000.initialDomain, domain: org2000.domain };
}

function withExtraGroups(org: Org, count: number): Org {
  const extra = Array.from({ length: count }, (_, i) => ({
    ...org.groups[0]!,
    id: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`,
    displayName: `extra-${i}`,
    members: [org.users[i % org.users.length]!.id],
  }));
  return { ...org, groups: [...org.groups, ...extra] };
}

test('the estimate: per group wins when groups + users/999 < users/20', () => {
  assert.deepEqual(estimatedRequests(20_000, 139), { perUser: 1000, perGroup: 139 + 20_000 / 999 });
  assert.equal(cheaperStrategy(20_000, 139), 'perGroup');
  assert.equal(cheaperStrategy(2_000, 139), 'perUser');
  assert.equal(cheaperStrategy(100_000, 4_000), 'perGroup');
  assert.equal(cheaperStrategy(100_000, 5_000), 'perUser');
  assert.equal(cheaperStrategy(0, 0), 'perUser');
});

test('per group and per user give every user the same groups: >100 groups, guests, no group, nesting', async () => {
  for (const transitiveGroups of [false, true]) {
    const perUser = await readAll(source({ membershipStrategy: 'perUser', transitiveGroups }));
    const perGroupSource = source({ membershipStrategy: 'perGroup', transitiveGroups });
    const perGroup = await readAll(perGroupSource);
    assert.equal(perGroupSource.lastMembershipStrategy, 'perGroup');
    assert.deepEqual(perGroup.map((u) => u.id), org2000.users.map((u) => u.id), 'every user once, in directory order');
    assert.deepEqual(groupsById(perGroup), groupsById(perUser), `transitiveGroups: ${transitiveGroups}`);

    const byId = groupsById(perGroup);
    const power = byId.get(org2000.users[MANY_GROUPS_USER_INDEX]!.id)!;
    assert.ok(power.length > 100, 'the user in more than 100 groups keeps them all');
    const guests = perGroup.filter((u) => u.attrs.userType === 'Guest');
    assert.ok(guests.some((u) => u.groups!.length === 0) && guests.some((u) => u.groups!.length > 0), 'guests with and without groups');
    assert.ok(perGroup.some((u) => u.attrs.userType === 'Member' && u.groups!.length > 0), "perGroup.some((u) => u.attrs.userType === 'Member' && u.groups!.length > 0)");
    assert.ok(perGroup.every((u) => Array.isArray(u.groups)), 'users in no group get []');
  }
  // Nesting: jira-administrators sits inside jira-users, so its members reach jira-users only transitively.
  const admins = org2000.groups.find((g) => g.displayName === 'jira-administrators')!.members;
  const jiraDirect = org2000.groups.find((g) => g.displayName === 'jira-users')!.members;
  const onlyNested = admins.find((a) => !jiraDirect.includes(a))!;
  assert.ok(onlyNested, 'the seeded org has an administrator who is not a direct jira-users member');
  const direct = groupsById(await readAll(source({ membershipStrategy: 'perGroup' })));
  const transitive = groupsById(await readAll(source({ membershipStrategy: 'perGroup', transitiveGroups: true })));
  assert.ok(!direct.get(onlyNested)!.includes('jira-users'), "!direct.get(onlyNested)!.includes('jira-users')");
  assert.ok(transitive.get(onlyNested)!.includes('jira-users'), "transitive.get(onlyNested)!.includes('jira-users')");
});

test('per group costs far fewer Graph calls and resource units than per user on 2,000 users', async () => {
  const measure = async (membershipStrategy: string) => {
    const before = { ...emu.usage, http: emu.stats.requests };
    const users = await readAll(source({ membershipStrategy }));
    assert.equal(users.length, org2000.users.length);
    return { calls: emu.usage.calls - before.calls, ru: emu.usage.resourceUnits - before.resourceUnits, http: emu.stats.requests - before.http };
  };
  const perUser = await measure('perUser');
  const perGroup = await measure('perGroup');
  // Per user: one memberOf per user (batched 20 to a $batch, but charged one by one).
  assert.ok(perUser.calls >= org2000.users.length, JSON.stringify(perUser));
  // Per group: the listing plus about one member page per group.
  assert.ok(perGroup.calls < org2000.groups.length + 20, JSON.stringify(perGroup));
  assert.ok(perGroup.calls * 10 < perUser.calls, `per group ${perGroup.calls} calls vs per user ${perUser.calls}`);
  assert.ok(perGroup.ru * 5 < perUser.ru, `per group ${perGroup.ru} RU vs per user ${perUser.ru}`);
});

test('auto: per group for a 4,000-user org, per user once groups outnumber users/20; the choice is exposed', async () => {
  const org4000 = sameTenant(generateOrg({ users: 4000, seed: 9 }));
  await withOrg(org4000, async () => {
    const urls: string[] = [];
    const s = source({}, (r) => urls.push(r.url));
    const users = await readAll(s);
    assert.equal(s.lastMembershipStrategy, 'perGroup');
    assert.equal(users.length, 4000);
    const count = urls.filter((u) => u.includes('/v1.0/users/$count'));
    assert.equal(count.length, 1, 'one $count to estimate the users');
    assert.equal(urls.filter((u) => u.includes('/$batch')).length, 0, 'no memberOf batches');
    const expected = groupsById(await readAll(source({ membershipStrategy: 'perUser' })));
    assert.deepEqual(groupsById(users), expected);
  });
  // 139 seeded + 100 extra groups > 4,000 / 20: per user is cheaper.
  await withOrg(withExtraGroups(sameTenant(generateOrg({ users: 4000, seed: 9 })), 100), async () => {
    const s = source();
    const users = await readAll(s);
    assert.equal(s.lastMembershipStrategy, 'perUser');
    assert.ok(users.some((u) => u.groups!.includes('extra-0')), "users.some((u) => u.groups!.includes('extra-0'))");
  });
  // The 2,000-user org has 139 groups, more than 2,000 / 20.
  const small = source();
  await readAll(small);
  assert.equal(small.lastMembershipStrategy, 'perUser');
  // No groups needed: no strategy, no group reads.
  const none = source();
  await readAll(none, { attributes: [], groups: false, manager: false });
  assert.equal(none.lastMembershipStrategy, undefined);
});

test('a 5xx storm on group members converges; a persistent failure makes listUsers throw before any user', async () => {
  const expected = groupsById(await readAll(source({ membershipStrategy: 'perUser' })));
  emu.setFaults({ script: [{ path: '/members/microsoft.graph.user', status: 503, times: 12 }, { path: '/v1.0/groups?', status: 500, times: 2 }] });
  try {
    const s = source({ membershipStrategy: 'perGroup' });
    const users = await readAll(s);
    assert.deepEqual(groupsById(users), expected);
    assert.ok(s.graph.stats.retries >= 14, 'the failures were retried, not skipped');
  } finally {
    emu.setFaults({ script: [] });
  }
  // One request in ten fails, and each has 6 retries (0.1^7 to fail for good). At one in five a
  // member page once failed 7 times in a row in CI, which is the test's luck, not a bug.
  emu.setFaults({ errorRate: 0.1, errorStatus: 502, seed: 3 });
  try {
    assert.deepEqual(groupsById(await readAll(source({ membershipStrategy: 'perGroup' }))), expected);
  } finally {
    emu.setFaults({ errorRate: 0 });
  }

  const project = org2000.groups.find((g) => g.displayName === 'project-apollo')!;
  emu.setFaults({ script: [{ path: `/groups/${project.id}/members`, status: 500, times: 10_000 }] });
  const seen: SourceUser[] = [];
  try {
    await assert.rejects(
      (async () => {
        for await (const page of source({ membershipStrategy: 'perGroup' }).listUsers(withGroups)) seen.push(...page.users);
      })(),
      (e: any) => e.code === 'TRANSIENT' && /500/.test(e.message),
    );
  } finally {
    emu.setFaults({ script: [] });
  }
  assert.equal(seen.length, 0, 'no user is yielded with a member list missing');
  // Missing permission is explained, not read as "no groups".
  // The last group listed: workers of the failed listing above stop before reaching it.
  const last = org2000.groups.at(-1)!;
  emu.setFaults({ script: [{ path: `/groups/${last.id}/members`, status: 403, times: 1 }] });
  try {
    await assert.rejects(readAll(source({ membershipStrategy: 'perGroup' })), (e: any) => e.code === 'AUTH' && /GroupMember\.Read\.All/.test(e.message));
  } finally {
    emu.setFaults({ script: [] });
  }
});

test('groupFilter limits the groups listed, the same way per group and per user', async () => {
  const groupFilter = "startswith(displayName,'jira-')";
  const urls: string[] = [];
  const perGroup = await readAll(source({ membershipStrategy: 'perGroup', groupFilter }, (r) => urls.push(r.url)));
  const listing = new URL(urls.find((u) => u.includes('/v1.0/groups?'))!);
  assert.equal(listing.searchParams.get('$filter'), groupFilter);
  const membersOf = new Set(urls.map((u) => /\/groups\/([^/?]+)\/members/.exec(u)?.[1]).filter(Boolean));
  assert.equal(membersOf.size, 2, 'members read for the two jira- groups only');
  const names = new Set(perGroup.flatMap((u) => u.groups!));
  assert.deepEqual([...names].sort(), ['jira-administrators', 'jira-users']);
  const perUser = await readAll(source({ membershipStrategy: 'perUser', groupFilter }));
  assert.deepEqual(groupsById(perGroup), groupsById(perUser));
  const one = perGroup.find((u) => u.groups!.length > 0)!;
  const single = await source({ groupFilter }).getUser(one.id, withGroups);
  assert.deepEqual(single!.groups, one.groups, 'single-user sync applies the filter too');
  // auto with a filter: 2 groups + 2000/999 < 2000/20, so per group.
  const auto = source({ groupFilter });
  await readAll(auto);
  assert.equal(auto.lastMembershipStrategy, 'perGroup');
});

test('requiredGroups reuse the per-group map: no second read; groups left out by groupFilter still count', async () => {
  const apollo = org2000.groups.find((g) => g.displayName === 'project-apollo')!;
  const members = [...apollo.members].sort();
  const urls: string[] = [];
  const users = await readAll(source({ membershipStrategy: 'perGroup', requiredGroups: ['Project-Apollo'] }, (r) => urls.push(r.url)));
  assert.deepEqual(users.map((u) => u.id).sort(), members);
  assert.ok(users.every((u) => u.groups!.includes('project-apollo')), "users.every((u) => u.groups!.includes('project-apollo'))");
  assert.equal(urls.filter((u) => u.includes(`/groups/${apollo.id}/`)).length, 1, "the group's members were read once");
  assert.equal(urls.filter((u) => u.includes('displayName%20eq') || u.includes('displayName+eq')).length, 0, 'no separate group lookup');

  const filtered = await readAll(source({ membershipStrategy: 'perGroup', requiredGroups: ['project-apollo'], groupFilter: "startswith(displayName,'dept-')" }));
  assert.deepEqual(filtered.map((u) => u.id).sort(), members);
  assert.ok(filtered.every((u) => u.groups!.every((g) => g.startsWith('dept-'))), "filtered.every((u) => u.groups!.every((g) => g.startsWith('dept-')))");
  await assert.rejects(readAll(source({ membershipStrategy: 'perGroup', requiredGroups: ['no-such-group'] })), (e: any) => e.code === 'CONFIG' && /no-such-group/.test(e.message));
});

test("per user: the next pages' memberOf batches run while the consumer holds this page, three pages ahead at most", async () => {
  const batchBodies: string[] = [];
  const userPages: string[] = [];
  const s = source({ membershipStrategy: 'perUser', pageSize: 100 }, (r) => {
    if (r.url.includes('/$batch')) batchBodies.push(String(r.body));
    else if (r.url.includes('/v1.0/users?')) userPages.push(r.url);
  });
  const ahead = org2000.users.slice(100, 400).map((u) => u.id); // pages 2, 3 and 4
  const seenAll = () => ahead.every((id) => batchBodies.some((b) => b.includes(id)));
  const iterator = s.listUsers(withGroups)[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.equal(first.value!.users.length, 100);
  // Hold page 1 (as a slow engine would) until the pages read ahead have their memberships.
  for (let i = 0; i < 2000 && !seenAll(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(seenAll(), "the memberOf batches of pages 2 to 4 were sent while page 1 was still being consumed");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(userPages.length, 4, 'no fifth page is fetched while the consumer holds page 1');
  const pageFive = org2000.users[400]!.id;
  assert.ok(!batchBodies.some((b) => b.includes(pageFive)), 'no memberships of page 5 yet');
  const second = await iterator.next();
  assert.deepEqual(second.value!.users.map((u: SourceUser) => u.id), ahead.slice(0, 100));
  await iterator.return?.();
});

test('the listing ends with its group list (id and name), the same per group and per user, with and without a groupFilter; none without a groups rule', async () => {
  const lastPage = async (s: EntraSource, query: SourceQuery = withGroups) => {
    let last: UserPage | undefined;
    for await (const page of s.listUsers(query)) last = page;
    assert.equal(last?.complete, true, 'the listing ended complete');
    return last!;
  };
  const sorted = (groups: SourceGroup[] | undefined) => [...(groups ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1));
  const all = sorted(org2000.groups.map((g) => ({ id: g.id, name: g.displayName })));
  for (const membershipStrategy of ['perUser', 'perGroup'] as const) {
    assert.deepEqual(sorted((await lastPage(source({ membershipStrategy }))).groupList), all, `${membershipStrategy}: every group of the tenant`);
    const filtered = sorted((await lastPage(source({ membershipStrategy, groupFilter: "startswith(displayName,'jira-')" }))).groupList);
    assert.deepEqual(filtered.map((g) => g.name).sort(), ['jira-administrators', 'jira-users'], `${membershipStrategy}: the groupFilter's groups`);
  }
  assert.equal((await lastPage(source({}), { attributes: ['userType'], groups: false, manager: false })).groupList, undefined, 'no memberships read: no group list');
});
