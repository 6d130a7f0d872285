import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateOrg, mutateOrg, GUILD_COUNT, MANY_GROUPS_USER_INDEX } from './index.ts';

test('the same seed gives the same org, another seed a different one', () => {
  const a = generateOrg({ users: 500, seed: 42 });
  const b = generateOrg({ users: 500, seed: 42 });
  const c = generateOrg({ users: 500, seed: 43 });
  assert.deepEqual(a, b);
  assert.notEqual(a.users[5]!.id, c.users[5]!.id);
  assert.notEqual(a.tenantId, c.tenantId);
});

test('ids are unique GUIDs and UPNs are unique', () => {
  const org = generateOrg({ users: 3000, seed: 5 });
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const ids = new Set<string>();
  const upns = new Set<string>();
  for (const u of org.users) {
    assert.match(u.id, guid);
    ids.add(u.id);
    upns.add(u.userPrincipalName.toLowerCase());
  }
  for (const g of org.groups) ids.add(g.id);
  assert.equal(ids.size, org.users.length + org.groups.length);
  assert.equal(upns.size, org.users.length);
});

test('manager hierarchy: one CEO at the top, VPs report to the CEO, no cycles, some staff without manager', () => {
  const org = generateOrg({ users: 2000, seed: 9 });
  const byId = new Map(org.users.map((u) => [u.id, u]));
  const ceo = org.users[0]!;
  assert.equal(ceo.managerId, null);
  assert.equal(ceo.jobTitle, 'Chief Executive Officer');
  assert.ok(org.users.slice(1, 6).every((u) => u.managerId === ceo.id && /^Vice President/.test(u.jobTitle ?? '')), 'org.users.slice(1, 6).every((u) => u.managerId === ceo.id && /^Vice President/.test(u.j...');
  let maxDepth = 0;
  for (const u of org.users) {
    let depth = 0;
    for (let m = u.managerId; m; m = byId.get(m)!.managerId) {
      assert.ok(byId.has(m), 'manager exists');
      assert.ok(++depth < 50, 'no cycle');
    }
    maxDepth = Math.max(maxDepth, depth);
  }
  assert.ok(maxDepth >= 3, `hierarchy has depth (got ${maxDepth})`);
  const orphans = org.users.filter((u) => u !== ceo && u.userType === 'Member' && u.managerId === null);
  assert.ok(orphans.length > 0, 'some members have no manager');
});

test('edge cases are present: guests, no mail, unicode, disabled, long values, extensions', () => {
  const org = generateOrg({ users: 2000, seed: 3 });
  const guests = org.users.filter((u) => u.userType === 'Guest');
  assert.ok(guests.length > 10, 'guests.length > 10');
  for (const g of guests) assert.match(g.userPrincipalName, /^[^@]+_[a-z.]+#EXT#@contoso\.onmicrosoft\.com$/);
  assert.ok(org.users.some((u) => u.userType === 'Member' && u.mail === null), "org.users.some((u) => u.userType === 'Member' && u.mail === null)");
  assert.ok(org.users.some((u) => /[éüØ]/.test(u.displayName)), 'org.users.some((u) => /[éüØ]/.test(u.displayName))');
  assert.ok(org.users.some((u) => /[\u4e00-\u9fff]/.test(u.displayName)), 'org.users.some((u) => /[\\u4e00-\\u9fff]/.test(u.displayName))');
  assert.ok(org.users.some((u) => !u.accountEnabled), 'org.users.some((u) => !u.accountEnabled)');
  assert.ok(org.users.some((u) => u.displayName.length === 256), 'org.users.some((u) => u.displayName.length === 256)');
  assert.ok(org.users.some((u) => (u.onPremisesExtensionAttributes.extensionAttribute15 ?? '').length === 1024), "org.users.some((u) => (u.onPremisesExtensionAttributes.extensionAttribute15 ?? '').leng...");
  assert.ok(org.users.filter((u) => u.userType === 'Member').every((u) => /^[\x21-\x7e]+$/.test(u.userPrincipalName)), 'UPNs are ASCII');
  assert.ok(org.users.some((u) => /^CC-[A-Z]{3}-\d+$/.test(u.onPremisesExtensionAttributes.extensionAttribute3 ?? '')), 'org.users.some((u) => /^CC-[A-Z]{3}-\\d+$/.test(u.onPremisesExtensionAttributes.extensio...');
  const hex = org.extensionAppId.replace(/-/g, '');
  assert.match(org.extensionProperties[0]!.name, new RegExp(`^extension_${hex}_`));
  assert.ok(org.users.some((u) => typeof u[`extension_${hex}_badgeNumber`] === 'number'), "org.users.some((u) => typeof u[`extension_${hex}_badgeNumber`] === 'number')");
  assert.ok(org.users.some((u) => u.customSecurityAttributes?.Engineering), 'org.users.some((u) => u.customSecurityAttributes?.Engineering)');
});

test('groups: departmental, licence groups with nesting, and one user in more than 100 groups', () => {
  const org = generateOrg({ users: 1000, seed: 11 });
  const byName = new Map(org.groups.map((g) => [g.displayName, g]));
  for (const n of ['dept-engineering', 'jira-users', 'confluence-users', 'jira-administrators', 'project-apollo']) assert.ok(byName.has(n), n);
  assert.ok(byName.get('jira-users')!.members.includes(byName.get('jira-administrators')!.id), 'jira-users nests jira-administrators');
  assert.ok(byName.get('confluence-users')!.members.includes(byName.get('dept-engineering')!.id), "byName.get('confluence-users')!.members.includes(byName.get('dept-engineering')!.id)");
  const eng = org.users.filter((u) => u.department === 'Engineering').map((u) => u.id).sort();
  assert.deepEqual([...byName.get('dept-engineering')!.members].sort(), eng);
  const many = org.users[MANY_GROUPS_USER_INDEX]!.id;
  assert.ok(org.groups.filter((g) => g.members.includes(many)).length >= GUILD_COUNT, 'org.groups.filter((g) => g.members.includes(many)).length >= GUILD_COUNT');
});

test('scales to 100,000 users', () => {
  const org = generateOrg({ users: 100_000, seed: 1 });
  assert.equal(org.users.length, 100_000);
  assert.equal(new Set(org.users.map((u) => u.id)).size, 100_000);
  // The first users do not depend on the org size.
  assert.equal(org.users[50]!.id, generateOrg({ users: 100, seed: 1 }).users[50]!.id);
});

test('mutateOrg changes a deterministic fraction of users', () => {
  const a = generateOrg({ users: 1000, seed: 2 });
  const b = generateOrg({ users: 1000, seed: 2 });
  const before = structuredClone(a.users);
  const ra = mutateOrg(a, { fraction: 0.05, seed: 8 });
  const rb = mutateOrg(b, { fraction: 0.05, seed: 8 });
  assert.equal(ra.changedIds.length, 50);
  assert.equal(new Set(ra.changedIds).size, 50);
  assert.deepEqual(ra.changedIds, rb.changedIds);
  assert.deepEqual(a.users, b.users);
  const changed = new Set(ra.changedIds);
  a.users.forEach((u, i) => {
    const old = before[i]!;
    if (changed.has(u.id)) assert.ok(u.jobTitle !== old.jobTitle || u.mobilePhone !== old.mobilePhone, 'u.jobTitle !== old.jobTitle || u.mobilePhone !== old.mobilePhone');
    else assert.deepEqual(u, old);
  });
});
