// The end-to-end suite of the real Entra ID source, over TLS, against the Microsoft Graph emulator
// and the Jira DC emulator: a seeded company of a few hundred people, synced by SyncEngine. What
// Jira ends up holding is checked against the directory itself (harness.ts has the oracle), not
// against what idsync says it did. One file per store (entra-jira.test.ts on SQLite,
// entra-jira-pg.test.ts on PostgreSQL), so each runs in its own process beside the others
// instead of one after the other in the suite's longest file.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TestStore } from '../helpers/stores.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncRequest, SyncResult } from '../../src/engine/api.ts';
import type { OrgUser } from '../../emulators/org/types.ts';
import {
  ORG_SIZE,
  assertJiraMatchesDirectory,
  expectedGroups,
  e2eConnector,
  expectedEmail,
  expectedUsername,
  guestAddress,
  lateManager,
  patchDirectoryUser,
  planOf,
  startEmulators,
  entraSyncHooks,
  type Emulators,
} from './harness.ts';

/** Requests the Jira emulator served for a property PUT (its route stats collapse the `2` of /rest/api/2). */
const propertyWrites = (stats: Record<string, number>, key: string): number =>
  Object.entries(stats).filter(([route]) => route.startsWith('PUT ') && route.endsWith(`/user/properties/${key}`)).reduce((n, [, c]) => n + c, 0);

export function entraJiraSuite(kind: string, openStore: () => Promise<TestStore>): void {
  describe(`Entra ID → Jira DC end to end (${kind} store)`, () => {
    let em: Emulators;
    let t: TestStore | undefined;
    let engine: SyncEngine;

    entraSyncHooks({ openStore, ready: (w) => ({ env: em, t, engine } = w) });

    const org = () => em.graph.directory.org;
    const store = () => t!.store;
    const sync = (extra: Partial<SyncRequest> = {}): Promise<SyncResult> =>
      engine.run({ connector: e2eConnector(em), kind: 'full', trigger: 'cli', ...extra });
    const syncUser = (userRef: string, extra: Partial<SyncRequest> = {}) =>
      engine.run({ connector: e2eConnector(em), kind: 'user', userRef, trigger: 'cli', ...extra });
    /** A full sync that must succeed; the statistics of both emulators start from zero after it. */
    const initialSync = async () => {
      const r = await sync();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      em.jira.resetStats();
      em.graph.resetStats();
      return r;
    };
    const member = (pred: (u: OrgUser) => boolean = () => true) => {
      const u = org().users.find((x) => x.userType === 'Member' && !!x.mail && !!x.managerId && x.accountEnabled && pred(x));
      assert.ok(u, 'the seeded org has such a user');
      return u;
    };
    const isManager = (u: OrgUser) => org().users.some((x) => x.managerId === u.id);

    test('an initial full sync creates every user with the mapped account, groups and properties; a second one writes nothing', async () => {
      const first = await sync();
      assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
      assert.equal(first.run.counts.read, ORG_SIZE);
      assert.equal(first.run.counts.created, ORG_SIZE);
      assert.equal(first.run.counts.failed, 0);
      assertJiraMatchesDirectory(em.jira, org());
      assert.equal(await store().links.count('entra-e2e', 'jira'), ORG_SIZE);

      em.jira.resetStats();
      const second = await sync();
      assert.equal(second.run.status, 'succeeded', second.run.error ?? '');
      assert.equal(second.run.counts.unchanged, ORG_SIZE);
      assert.equal(second.run.counts.writes, 0);
      assert.equal(em.jira.stats.writes, 0, 'no write request reached Jira');
      // Nothing changed, so nothing is listed: every user is counted unchanged, none journaled (journal.ts).
      assert.equal(second.run.counts.unchangedUnlisted, ORG_SIZE);
      assert.equal(second.run.counts.targets?.jira?.unchangedUnlisted, ORG_SIZE);
      assert.deepEqual(await planOf(store(), second.run.id), [], 'no item claims a user the run did not list');
    });

    test('a dry run writes nothing and reports the plan the real run then carries out', async () => {
      const dry = await sync({ dryRun: true });
      assert.equal(dry.run.status, 'succeeded', dry.run.error ?? '');
      assert.equal(dry.run.dryRun, true);
      assert.equal(em.jira.stats.writes, 0, 'no write request reached Jira');
      assert.equal([...em.jira.store.allUsers()].length, 2, 'only the built-in admin and viewer exist');
      assert.equal(await store().links.count('entra-e2e'), 0, 'a dry run links nobody');

      const real = await sync();
      assert.deepEqual(await planOf(store(), dry.run.id), await planOf(store(), real.run.id));
      // The same plan; only the real run sends writes (also counted per target).
      const planOnly = (c: typeof dry.run.counts) => JSON.parse(JSON.stringify(c, (k, v) => (k === 'usersWritten' || k === 'writes' ? 0 : v)));
      assert.deepEqual(planOnly(dry.run.counts), planOnly(real.run.counts));
      assert.equal(dry.run.counts.targets?.jira?.usersWritten, 0);
      assert.equal(real.run.counts.targets?.jira?.usersWritten, 300);
      assert.equal(real.run.counts.targets?.jira?.writes, 300, 'the old name keeps its value for readers of the JSON');
      assert.equal(real.run.counts.created, ORG_SIZE);
    });

    test('after changes in the directory, a dry run plans exactly the updates the real run makes', async () => {
      await initialSync();
      const [a, b, c] = org().users.filter((u) => u.userType === 'Member' && u.managerId && !isManager(u)).slice(3, 6) as [OrgUser, OrgUser, OrgUser];
      const ceo = org().users[0]!;
      await patchDirectoryUser(em.graph, a.id, { department: 'Quality Assurance' });
      await patchDirectoryUser(em.graph, b.id, { managerId: ceo.id });
      await patchDirectoryUser(em.graph, c.id, { accountEnabled: false, jobTitle: null });

      const dry = await sync({ dryRun: true });
      assert.equal(em.jira.stats.writes, 0);
      assert.equal(dry.run.counts.updated, 3);
      const real = await sync();
      assert.equal(real.run.counts.updated, 3);
      assert.deepEqual(await planOf(store(), dry.run.id), await planOf(store(), real.run.id));
      const bItem = (await planOf(store(), real.run.id)).find((i) => i.sourceId === b.id)!;
      assert.deepEqual(
        bItem.changes.map((ch) => [ch.field, ch.after]),
        [
          ['property.managerEmail', ceo.mail],
          ['property.managerName', ceo.displayName],
          ['property.managerUsername', expectedUsername(ceo)],
        ],
      );
      assertJiraMatchesDirectory(em.jira, org());
    });

    test('single-user sync finds the user by UPN, by mail, by object id and by Jira username', async () => {
      await initialSync();
      const byUpn = member();
      const byMail = member((u) => u !== byUpn);
      const byId = member((u) => u !== byUpn && u !== byMail);
      const byUsername = member((u) => u !== byUpn && u !== byMail && u !== byId);

      const oldDepartment = byUpn.department; // the emulator edits the very object we hold
      await patchDirectoryUser(em.graph, byUpn.id, { department: 'Quality Assurance' });
      let r = await syncUser(byUpn.userPrincipalName);
      assert.equal(r.run.kind, 'user');
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.deepEqual(r.user?.targets.map((x) => [x.targetId, x.matched, x.operation]), [['jira', 'link', 'updated']]);
      assert.deepEqual(r.user?.targets[0]!.changes, [{ field: 'property.department', before: oldDepartment, after: 'Quality Assurance' }]);
      assert.equal(em.jira.inspect(expectedUsername(byUpn))!.properties.department, 'Quality Assurance');
      assert.equal(em.jira.stats.writes, 1, 'one property written, nobody else touched');

      // A mail address that is not the UPN, so only a lookup by mail can find the user.
      const alias = `alias.${expectedUsername(byMail)}@contoso.com`;
      const oldMail = byMail.mail;
      await patchDirectoryUser(em.graph, byMail.id, { mail: alias });
      r = await syncUser(alias);
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.equal(r.user?.sourceId, byMail.id);
      assert.deepEqual(r.user?.targets[0]!.changes.map((ch) => [ch.field, ch.before, ch.after]), [['user.email', oldMail, alias]]);
      assert.equal(em.jira.inspect(expectedUsername(byMail))!.emailAddress, alias);

      await patchDirectoryUser(em.graph, byId.id, { jobTitle: 'Principal Cartographer' });
      r = await syncUser(byId.id);
      assert.equal(r.user?.sourceId, byId.id);
      assert.equal(r.user?.targets[0]!.operation, 'updated');
      assert.equal(em.jira.inspect(expectedUsername(byId))!.properties.jobTitle, 'Principal Cartographer');

      const username = expectedUsername(byUsername);
      await patchDirectoryUser(em.graph, byUsername.id, { displayName: 'Renamed Person' });
      r = await syncUser(username);
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.equal(r.user?.sourceId, byUsername.id, 'the Jira username leads to the linked directory user');
      assert.equal(em.jira.inspect(username)!.displayName, 'Renamed Person');

      const unknown = await syncUser('nobody.here@contoso.com');
      assert.equal(unknown.run.status, 'failed');
      assert.match(unknown.run.error ?? '', /no user "nobody\.here@contoso\.com"/);
    });

    test('sync-user applies the connector filter exactly as a full read does: a user outside it is skipped, saying why, and not created', async () => {
      const base = e2eConnector(em);
      const outside = member((u) => u.department !== 'Engineering');
      const inside = member((u) => u.department === 'Engineering');
      // A default filter, and an advanced one (eq on an extension attribute needs ConsistencyLevel + $count).
      const code = inside.onPremisesExtensionAttributes.extensionAttribute3!;
      for (const [i, filter] of ["department eq 'Engineering'", `onPremisesExtensionAttributes/extensionAttribute3 eq '${code}'`].entries()) {
        if (filter.includes('extensionAttribute3') && outside.onPremisesExtensionAttributes.extensionAttribute3 === code) continue;
        // A connector of its own per filter, so links of one pass do not carry over to the next.
        const connector = { ...base, id: `entra-filter-${i}`, source: { ...base.source, filter } };
        const r = await engine.run({ connector, kind: 'user', userRef: outside.userPrincipalName, trigger: 'cli' });
        assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
        assert.equal(r.user?.found, true);
        assert.equal(r.user?.outOfScope, `outside the connector's filter: ${filter}`);
        assert.deepEqual(r.user?.targets, [], 'no target touched');
        const skipped = (await store().runs.items(r.run.id, { operation: 'skipped' })).items;
        assert.deepEqual(skipped.map((i) => [i.sourceId, i.error]), [[outside.id, `outside the connector's filter: ${filter}`]]);
        assert.equal(em.jira.inspect(expectedUsername(outside)), undefined, 'a user outside the filter is not created');
        const ok = await engine.run({ connector, kind: 'user', userRef: inside.userPrincipalName, trigger: 'cli' });
        assert.equal(ok.run.status, 'succeeded', ok.run.error ?? '');
        assert.equal(ok.user?.outOfScope, undefined);
        assert.deepEqual(ok.user?.targets.map((x) => x.operation), ['created'], `${filter}: a user inside the filter is synced`);
        await em.reset();
      }
    });

    test('looking a user up by the start of a name: the picker finds them, a preview reads them in full', async () => {
      const u = member();
      const start = u.displayName.slice(0, u.displayName.indexOf(' ') + 2);
      const hits = await engine.searchUsers(e2eConnector(em), start, 10);
      assert.ok(hits.some((h) => h.id === u.id && h.userPrincipalName === u.userPrincipalName), `${u.displayName} found by "${start}"`);
      // An object id starts no name, yet is found exactly.
      assert.deepEqual((await engine.searchUsers(e2eConnector(em), u.id, 10)).map((h) => h.id), [u.id]);
      // A preview by that text reads the matches as a sync would: with the manager resolved.
      const samples = await engine.sampleUsers(e2eConnector(em), start, 10);
      const sample = samples.find((x) => x.id === u.id);
      assert.ok(sample, 'the preview reads the user found by name');
      assert.equal((sample.attrs.manager as { id?: string } | null)?.id, u.managerId);
      assert.deepEqual(await engine.searchUsers(e2eConnector(em), 'zz-nobody-starts-like-this', 10), []);
      assert.deepEqual(await engine.searchUsers(e2eConnector(em), '  ', 10), [], 'no text, no search');
    });

    test('manager attributes: mail, name and Jira username, a manager listed after the report, and no manager at all', async () => {
      const late = lateManager(org());
      const report = org().users.find((u) => u.managerId === late.id);
      assert.ok(report && org().users.indexOf(report) < org().users.indexOf(late), 'the report is listed before the manager');
      const noManager = org().users.find((u, i) => i > 0 && u.userType === 'Member' && u.managerId === null);
      assert.ok(noManager, 'the seeded org has a member without a manager');

      const r = await sync();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      const got = em.jira.inspect(expectedUsername(report))!;
      assert.equal(got.properties.managerUsername, expectedUsername(late));
      assert.equal(got.properties.managerEmail, late.mail);
      assert.equal(got.properties.managerName, late.displayName);

      const lonely = em.jira.inspect(expectedUsername(noManager))!;
      for (const key of ['managerUsername', 'managerEmail', 'managerName']) assert.equal(lonely.properties[key], undefined, `${key} not written`);
      const items = await planOf(store(), r.run.id);
      const lonelyItem = items.find((i) => i.sourceId === noManager.id)!;
      assert.equal(lonelyItem.operation, 'created');
      assert.equal(lonelyItem.error, null);

      // Every user is journaled and written once, the late manager's reports included.
      assert.equal(new Set(items.map((i) => i.sourceId)).size, items.length);
      const withManager = org().users.filter((u) => u.managerId).length;
      assert.equal(propertyWrites(em.jira.stats.byRoute, 'managerUsername'), withManager);
      const managerHasMail = (u: OrgUser) => !!org().users.find((m) => m.id === u.managerId)?.mail;
      assert.equal(propertyWrites(em.jira.stats.byRoute, 'managerEmail'), org().users.filter((u) => u.managerId && managerHasMail(u)).length);
    });

    test('guests get their real address from the #EXT# UPN; unicode names and values survive and compare equal', async () => {
      const guest = org().users.find((u) => u.userType === 'Guest');
      assert.ok(guest, 'guest');
      await patchDirectoryUser(em.graph, guest.id, { mail: null });
      const unicodeName = org().users.find((u) => /[^\u0000-\u007f]/.test(u.displayName));
      assert.ok(unicodeName, 'the seeded org has a user with a non-ASCII name');
      const unicodeValue = member();
      const department = 'Forschung & Entwicklung — Zürich 研究所 🚀';
      await patchDirectoryUser(em.graph, unicodeValue.id, { department });

      await initialSync();
      const g = em.jira.inspect(expectedUsername(guest));
      assert.ok(g, `guest ${guest.userPrincipalName} is in Jira`);
      assert.equal(g.name, guestAddress(guest.userPrincipalName).split('@')[0]!.toLowerCase());
      assert.equal(g.emailAddress, guestAddress(guest.userPrincipalName));
      assert.doesNotMatch(g.name + g.emailAddress, /#EXT#/);
      assert.equal(em.jira.inspect(expectedUsername(unicodeName))!.displayName, unicodeName.displayName);
      assert.equal(em.jira.inspect(expectedUsername(unicodeValue))!.properties.department, department);
      assertJiraMatchesDirectory(em.jira, org());

      const again = await sync();
      assert.equal(again.run.counts.unchanged, ORG_SIZE);
      assert.equal(em.jira.stats.writes, 0);
    });

    test('a 40,000-character property value fails only that user, with a message that says why', async () => {
      const big = member();
      await patchDirectoryUser(em.graph, big.id, { jobTitle: 'x'.repeat(40_000) });
      const r = await sync();
      assert.equal(r.run.status, 'partial');
      assert.equal(r.run.counts.failed, 1);
      assert.equal(r.run.counts.created, ORG_SIZE - 1);
      const failed = (await store().runs.items(r.run.id, { operation: 'failed' })).items;
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.sourceId, big.id);
      assert.match(failed[0]!.error ?? '', /property\.jobTitle.*40,?000 characters.*32,?768/);
      assert.equal(em.jira.inspect(expectedUsername(big))?.properties.jobTitle, undefined, 'the oversized value was not written');
      assertJiraMatchesDirectory(em.jira, org(), [big.id]);

      em.jira.resetStats();
      const again = await sync();
      assert.equal(again.run.counts.failed, 1, 'still failing, still only that user');
      assert.equal(again.run.counts.unchanged, ORG_SIZE - 1);
    });

    test('429 storms and 5xx faults on Graph and Jira converge: everyone written once with the right values', async () => {
      // Retry-After is kept to 50 ms so the storm costs little time; the client honours it as sent.
      em.graph.setFaults({
        rateLimit: { capacity: 4, perSecond: 200, retryAfterSeconds: 0.05 },
        errorRate: 0.15,
        errorStatus: 503,
        dropRate: 0.05,
        seed: 3,
        script: [{ method: 'GET', path: '/v1.0/users', status: 429, headers: { 'retry-after': '0' }, times: 4 }],
      });
      em.jira.setFaults({
        rateLimit: { capacity: 40, perSecond: 800, retryAfterSeconds: 0.05 },
        errorRate: 0.08,
        errorStatus: 502,
        seed: 5,
        script: [{ method: 'PUT', path: '/user/properties/', status: 429, headers: { 'retry-after': '0' }, times: 5 }],
      });
      const r = await sync();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.equal(r.run.counts.created, ORG_SIZE);
      assert.equal(r.run.counts.failed, 0);
      // The faults really happened (the test is not vacuous).
      assert.ok(em.graph.stats.rateLimited > 0 && em.graph.stats.faultsInjected > 0, JSON.stringify(em.graph.stats));
      assert.ok(em.jira.stats.rateLimited > 0 && em.jira.stats.faultsInjected > 0, JSON.stringify(em.jira.stats));
      const creates = Object.entries(em.jira.stats.byRoute).find(([route]) => /^POST \/rest\/api\/[^/]+\/user$/.test(route))?.[1];
      assert.equal(creates, ORG_SIZE, 'each user was created by exactly one request that reached Jira');

      em.graph.setFaults({ rateLimit: undefined, errorRate: 0, dropRate: 0, script: [] });
      em.jira.setFaults({ rateLimit: undefined, errorRate: 0, script: [] });
      assertJiraMatchesDirectory(em.jira, org());
      em.jira.resetStats();
      const clean = await sync();
      assert.equal(clean.run.counts.unchanged, ORG_SIZE);
      assert.equal(em.jira.stats.writes, 0);
    });

    test('an update that fails under faults is not lost: the next run writes it, then all is unchanged', async () => {
      await initialSync();
      const changed = org().users.filter((u) => u.userType === 'Member' && u.department).slice(10, 40);
      for (const u of changed) await patchDirectoryUser(em.graph, u.id, { department: `${u.department} (reorganised)` });
      const unlucky = changed[7]!;
      const unluckyKey = em.jira.inspect(expectedUsername(unlucky))!.key;
      em.jira.setFaults({
        rateLimit: { capacity: 10, perSecond: 500, retryAfterSeconds: 0.05 },
        errorRate: 0.2,
        errorStatus: 503,
        seed: 11,
        // This one user's write fails on every attempt.
        script: [{ method: 'PUT', path: `properties/department?userKey=${unluckyKey}`, status: 500, times: 1000 }],
      });
      const faulty = await sync();
      assert.equal(faulty.run.status, 'partial', faulty.run.error ?? '');
      assert.equal(faulty.run.counts.failed, 1);
      assert.equal(faulty.run.counts.updated, changed.length - 1);
      const failed = (await store().runs.items(faulty.run.id, { operation: 'failed' })).items[0]!;
      assert.equal(failed.sourceId, unlucky.id);
      assert.match(failed.error ?? '', /500/);

      em.jira.setFaults({ rateLimit: undefined, errorRate: 0, script: [] });
      const repair = await sync();
      assert.equal(repair.run.status, 'succeeded', repair.run.error ?? '');
      assert.equal(repair.run.counts.updated, 1);
      const item = (await store().runs.items(repair.run.id, { operation: 'updated' })).items[0]!;
      assert.equal(item.sourceId, unlucky.id);
      assert.deepEqual(item.changes.map((c) => [c.field, c.after]), [['property.department', unlucky.department]]);
      assertJiraMatchesDirectory(em.jira, org());

      em.jira.resetStats();
      const quiet = await sync();
      assert.equal(quiet.run.counts.unchanged, ORG_SIZE);
      assert.equal(em.jira.stats.writes, 0);
    });

    test('a Graph read failure part-way fails the run, marks nobody missing and leaves links intact', async () => {
      await initialSync();
      // Every later page (its nextLink carries a $skiptoken) answers 500, retries included.
      em.graph.setFaults({ script: [{ method: 'GET', path: 'skiptoken', status: 500, times: 1000 }] });
      const r = await sync();
      assert.equal(r.run.status, 'failed');
      assert.match(r.run.error ?? '', /Microsoft Graph answered 500/);
      assert.ok(r.run.counts.read > 0 && r.run.counts.read < ORG_SIZE, `read part of the directory (${r.run.counts.read})`);
      assert.equal(r.run.counts.missing, 0);
      assert.equal((await store().runs.items(r.run.id, { operation: 'missing' })).total, 0);
      assert.equal(em.jira.stats.writes, 0);
      let links = 0;
      for await (const page of store().links.sourceIds('entra-e2e', 'jira')) {
        for (const l of page) {
          links++;
          assert.equal(l.missingSince, null, `${l.label} is not marked missing`);
        }
      }
      assert.equal(links, ORG_SIZE);

      em.graph.setFaults({ script: [] });
      const next = await sync();
      assert.equal(next.run.status, 'succeeded', next.run.error ?? '');
      assert.equal(next.run.counts.unchanged, ORG_SIZE);
      assert.equal(next.run.counts.missing, 0);
    });

    test('users deleted from the directory are disabled in Jira (the default cleanup), before → after', async () => {
      await initialSync();
      const gone = org().users.filter((u) => u.userType === 'Member' && !isManager(u)).slice(20, 23);
      for (const u of gone) assert.ok(em.graph.directory.deleteUser(u.id), 'em.graph.directory.deleteUser(u.id)');
      const r = await sync();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.equal(r.run.counts.disabled, gone.length);
      assert.equal(r.run.counts.missing, 0);
      assert.equal(r.run.counts.unchanged, ORG_SIZE - gone.length);
      const disabled = (await store().runs.items(r.run.id, { operation: 'disabled' })).items;
      assert.deepEqual(disabled.map((i) => i.sourceId).sort(), gone.map((u) => u.id).sort());
      assert.equal(em.jira.stats.writes, gone.filter((u) => u.accountEnabled).length, 'one write per account still active');
      for (const u of gone) {
        const j = em.jira.inspect(expectedUsername(u));
        assert.ok(j, `${expectedUsername(u)} still exists: disabled, not deleted`);
        assert.equal(j.active, false);
        assert.equal(j.emailAddress, expectedEmail(u));
        const link = await store().links.get('entra-e2e', 'jira', u.id);
        assert.ok(link?.missingSince, 'the link remembers since when the user is missing');
        assert.ok(link?.cleanup?.disabledAt, 'and that idsync disabled the account');
      }
    });
  });
}
