// Incremental sync end to end: the real Entra ID source's changes() over Graph delta (the Graph
// emulator's delta and control endpoints), the engine's shadow and projection, and the Jira DC
// emulator, on SQLite and PostgreSQL. A mapping change that needs nothing new is projected from
// the shadow (no Graph user read), also across a SIGKILL in the middle of it. Directory changes are made through the emulator's control
// API, as another process would; what Jira holds is checked against the directory (harness.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { storeKinds, type TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncResult } from '../../src/engine/api.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { OrgUser } from '../../emulators/org/types.ts';
import { assertJiraMatchesDirectory, e2eConnector, graphControl, expectedProperties, expectedUsername, planOf, entraSyncHooks, type Emulators } from './harness.ts';

const USERS = 120;
const CHILD = fileURLToPath(new URL('../helpers/sync-child.ts', import.meta.url));

/** Graph requests by route, the delta rounds apart from everything else. */
const graphRequests = (em: Emulators) => {
  const routes = Object.entries(em.graph.stats.byRoute);
  const delta = routes.filter(([r]) => r.includes('delta')).reduce((n, [, c]) => n + c, 0);
  return { delta, other: routes.filter(([r]) => !r.includes('delta') && !r.includes('/token')), total: em.graph.stats.requests };
};

for (const [kind, openStore] of storeKinds) {
  describe(`Entra ID delta → Jira DC incremental sync end to end (${kind} store)`, () => {
    let em: Emulators;
    let t: TestStore | undefined;
    let engine: SyncEngine;

    entraSyncHooks({ emulators: { users: USERS }, openStore, ready: (w) => ({ env: em, t, engine } = w) });

    const org = () => em.graph.directory.org;
    const store = () => t!.store;
    const CONNECTOR = 'entra-e2e';
    const incremental = async (connector: ConnectorConfig = e2eConnector(em)): Promise<SyncResult> => {
      const r = await engine.run({ connector, kind: 'incremental', trigger: 'cli' });
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      return r;
    };
    /** The seeding round; the statistics of both emulators start from zero after it. */
    const seed = async (connector?: ConnectorConfig) => {
      const r = await incremental(connector);
      em.jira.resetStats();
      em.graph.resetStats();
      return r;
    };
    /** An incremental run in a child process (sync-child.ts), SIGKILLed once Jira has taken `writes` writes. */
    const incrementalKilledAfter = async (connector: ConnectorConfig, writes: number): Promise<void> => {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ store: t!.options, connector, ca: em.graph.ca, kind: 'incremental' })], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      em.jira.onWrite((n) => {
        if (n >= writes) child.kill('SIGKILL');
      });
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
      em.jira.onWrite(undefined);
      assert.equal(signal, 'SIGKILL', `the run was to be killed after ${writes} writes; it ended by itself (${code}): ${output}`);
    };
    /** The emulator's control API, over TLS like the Graph endpoints. */
    const control = (method: string, path: string, body?: unknown) => graphControl(em.graph, method, path, body);
    const isManager = (u: OrgUser) => org().users.some((x) => x.managerId === u.id);
    const leaf = (skip: OrgUser[] = []) => {
      const u = org().users.find((x) => x.userType === 'Member' && !!x.mail && !!x.managerId && x.accountEnabled && !isManager(x) && !skip.includes(x));
      assert.ok(u, 'the seeded org has such a user');
      return u;
    };
    const manager = (skip: OrgUser[] = []) => {
      const m = org().users.find((x) => x.userType === 'Member' && !!x.mail && isManager(x) && !!x.managerId && !skip.includes(x));
      assert.ok(m, 'the seeded org has a manager with a manager');
      return m;
    };
    const reportsOf = (m: OrgUser) => org().users.filter((x) => x.managerId === m.id);

    /**
     * The Jira mapping with two rules changed that need nothing not read already: the department
     * property from `jobTitle`, the manager's name property from the manager's `jobTitle` (a
     * manager.* value, resolved through the shadow). `concurrency` 1 for the crash test.
     */
    const remapped = (concurrency?: number): ConnectorConfig => {
      const c = e2eConnector(em);
      const mapping = (rules: ConnectorConfig['targets'][number]['mapping']) => rules.map((r) => (r.target === 'property.department' ? { ...r, source: 'jobTitle' } : r.target === 'property.managerName' ? { ...r, source: 'manager.jobTitle' } : r));
      return { ...c, targets: c.targets.map((x) => ({ ...x, mapping: mapping(x.mapping), ...(concurrency ? { concurrency } : {}) })) as ConnectorConfig['targets'] };
    };
    /** What Jira holds of a user under `remapped`. */
    const remappedProperties = (u: OrgUser) => {
      const manager = u.managerId ? org().users.find((m) => m.id === u.managerId) : undefined;
      const props: Record<string, unknown> = { ...expectedProperties(org(), u), department: u.jobTitle, managerName: manager?.jobTitle };
      return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== null && v !== undefined && v !== ''));
    };
    const assertJiraRemapped = () => {
      for (const u of org().users) assert.deepEqual(em.jira.inspect(expectedUsername(u))!.properties, remappedProperties(u), `${expectedUsername(u)}: properties`);
    };
    /** Jira requests the remapping takes: one per property set or removed. */
    const remappedWrites = () => org().users.reduce((n, u) => {
      const [a, b] = [remappedProperties(u), expectedProperties(org(), u) as Record<string, unknown>];
      return n + [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).length;
    }, 0);
    /** Users whose Jira properties the remapping changes. */
    const remappedUsers = () => org().users.filter((u) => JSON.stringify(remappedProperties(u)) !== JSON.stringify(expectedProperties(org(), u)));

    test('the seeding round reads everyone and stores a checkpoint; a round without change sends only delta requests and writes nothing', async () => {
      const first = await incremental();
      assert.equal(first.run.kind, 'incremental');
      assert.equal(first.run.counts.read, USERS);
      assert.equal(first.run.counts.created, USERS);
      assert.equal(first.run.counts.failed, 0);
      assertJiraMatchesDirectory(em.jira, org()); // manager.mail, manager.targetUsername and groups included
      const state = await store().shadow.state(CONNECTOR);
      assert.ok(state.checkpoint, 'a checkpoint is stored');
      assert.equal(await store().shadow.count(CONNECTOR, { live: true }), USERS);
      assert.equal(await store().shadow.count(CONNECTOR, { pending: true }), 0, 'nothing left pending');

      em.jira.resetStats();
      em.graph.resetStats();
      const second = await incremental();
      assert.equal(second.run.counts.usersWritten, 0);
      assert.equal(second.run.counts.read, 0);
      assert.equal(em.jira.stats.writes, 0, 'no write request reached Jira');
      const g = graphRequests(em);
      assert.equal(g.delta, 2, `one users and one groups delta request (${JSON.stringify(em.graph.stats.byRoute)})`);
      assert.deepEqual(g.other, [], 'only delta requests (and a token) were sent to Graph');
      assert.notEqual((await store().shadow.state(CONNECTOR)).checkpoint, null);
    });

    test('a department changed in the directory: the next round updates only that user, only that field', async () => {
      await seed();
      const u = leaf();
      const before = u.department;
      await control('PATCH', `/users/${u.id}`, { department: 'Quality Assurance' });
      const r = await incremental();
      assert.equal(r.run.counts.read, 1);
      assert.equal(r.run.counts.updated, 1);
      assert.equal(r.run.counts.usersWritten, 1);
      const items = await planOf(store(), r.run.id);
      assert.deepEqual(items.map((i) => [i.sourceId, i.operation]), [[u.id, 'updated']]);
      assert.deepEqual(items[0]!.changes, [{ field: 'property.department', before, after: 'Quality Assurance' }]);
      assert.equal(em.jira.inspect(expectedUsername(u))!.properties.department, 'Quality Assurance');
      assertJiraMatchesDirectory(em.jira, org());

      // A membership added by group delta: only that user's groups change.
      const group = org().groups.find((g) => g.displayName.startsWith('dept-') && !g.members.includes(u.id));
      assert.ok(group, 'a department group the user is not in');
      await control('POST', `/groups/${group.id}/members`, { add: [u.id] });
      const moved = await incremental();
      const movedItems = await planOf(store(), moved.run.id);
      assert.deepEqual(movedItems.map((i) => [i.sourceId, i.operation, i.changes.map((c) => [c.field, c.add])]), [[u.id, 'updated', [['groups', [group.displayName]]]]]);
      assert.ok(em.jira.inspect(expectedUsername(u))!.groups.includes(group.displayName), 'the user is in the group in Jira');
      assertJiraMatchesDirectory(em.jira, org());
    });

    test('soft-deleted and deleted users: tombstones, disabled in Jira with the reason (the default cleanup); a restore re-enables the user', async () => {
      await seed();
      const soft = leaf();
      const gone = leaf([soft]);
      await control('POST', `/users/${soft.id}/soft-delete`);
      await control('DELETE', `/users/${gone.id}`);
      const r = await incremental();
      assert.equal(r.run.counts.disabled, 2, r.run.error ?? '');
      const { items } = await store().runs.items(r.run.id, { operation: 'disabled' });
      assert.deepEqual(Object.fromEntries(items.map((i) => [i.sourceId, i.details?.reason])), { [soft.id]: 'soft-deleted', [gone.id]: 'deleted' });
      const shadow = await store().shadow.getMany(CONNECTOR, [soft.id, gone.id]);
      assert.equal(shadow.get(soft.id)?.tombstone, 'soft-deleted');
      assert.equal(shadow.get(gone.id)?.tombstone, 'deleted');
      const links = await store().links.getMany(CONNECTOR, 'jira', [soft.id, gone.id]);
      assert.ok(links.get(soft.id)?.missingSince && links.get(gone.id)?.missingSince, 'both links marked missing');
      for (const u of [soft, gone]) {
        const j = em.jira.inspect(expectedUsername(u));
        assert.ok(j, `${expectedUsername(u)} still exists in Jira: disabled, not deleted`);
        assert.equal(j.active, false, `${expectedUsername(u)} is deactivated`);
      }
      assert.equal(em.jira.stats.writes, [soft, gone].filter((u) => u.accountEnabled).length, 'one write per account still active');

      await control('POST', `/users/${soft.id}/restore`);
      const back = await incremental();
      assert.equal((await store().shadow.getMany(CONNECTOR, [soft.id])).get(soft.id)?.tombstone, null);
      assert.equal((await store().links.get(CONNECTOR, 'jira', soft.id))?.missingSince, null, 'missingSince cleared');
      assert.equal(back.run.counts.missing, 0);
      assert.equal(em.jira.inspect(expectedUsername(soft))?.active, soft.accountEnabled, 'the restored user is as the directory says (re-enabled)');
    });

    test("a manager changed by delta updates the report's manager values; a manager's own mail change reaches its reports", async () => {
      await seed();
      const report = leaf();
      const newManager = manager([org().users.find((x) => x.id === report.managerId)!]);
      await control('PUT', `/users/${report.id}/manager`, { managerId: newManager.id });
      let r = await incremental();
      let j = em.jira.inspect(expectedUsername(report))!;
      assert.equal(j.properties.managerEmail, newManager.mail);
      assert.equal(j.properties.managerUsername, expectedUsername(newManager));
      assert.deepEqual((await planOf(store(), r.run.id)).map((i) => [i.sourceId, i.operation]), [[report.id, 'updated']]);

      const reports = reportsOf(newManager);
      assert.ok(reports.length >= 2, 'the manager has several reports');
      await control('PATCH', `/users/${newManager.id}`, { mail: 'renamed.manager@contoso.example' });
      r = await incremental();
      assert.equal(r.run.counts.updated, reports.length + 1, 'the manager and each of its reports');
      for (const x of reports) {
        j = em.jira.inspect(expectedUsername(x))!;
        assert.equal(j.properties.managerEmail, 'renamed.manager@contoso.example', expectedUsername(x));
      }
      assertJiraMatchesDirectory(em.jira, org());
    });

    test('an expired delta token: the next round reads in full by itself, succeeds, and says so', async () => {
      await seed();
      const u = leaf();
      await control('PATCH', `/users/${u.id}`, { jobTitle: 'Principal Tester' });
      await control('POST', '/delta/expire', {});
      const r = await incremental();
      assert.match(r.run.notice ?? '', /read in full/);
      assert.equal((await store().runs.get(r.run.id))?.notice, r.run.notice, 'the notice is stored with the run');
      assert.equal(r.run.counts.read, USERS, 'everyone read again');
      assert.equal(r.run.counts.updated, 1);
      assert.equal(r.run.counts.usersWritten, 1);
      assertJiraMatchesDirectory(em.jira, org());
      const next = await incremental();
      assert.equal(next.run.notice, null, 'the new checkpoint is taken');
      assert.equal(next.run.counts.read, 0);
    });

    test("a user the connector's filter no longer matches is recorded out of scope", async () => {
      const filtered = (): ConnectorConfig => {
        const c = e2eConnector(em);
        return { ...c, source: { ...c.source, filter: 'accountEnabled eq true' } as ConnectorConfig['source'] };
      };
      const seeded = await seed(filtered());
      const enabled = org().users.filter((u) => u.accountEnabled).length;
      assert.equal(seeded.run.counts.read, enabled);
      const u = leaf();
      await control('PATCH', `/users/${u.id}`, { accountEnabled: false });
      const r = await incremental(filtered());
      const { items } = await store().runs.items(r.run.id, { operation: 'disabled' });
      assert.deepEqual(items.map((i) => [i.sourceId, i.details?.reason]), [[u.id, 'out-of-scope']]);
      assert.equal((await store().shadow.getMany(CONNECTOR, [u.id])).get(u.id)?.tombstone, 'out-of-scope');
      assert.equal(em.jira.inspect(expectedUsername(u))?.active, false, 'out of scope: disabled in Jira (the default cleanup)');
    });

    test('killed between apply and checkpoint: the rerun converges, nothing written twice', async () => {
      // One write at a time, so the kill lands after exactly KILL_AFTER writes.
      const connector = (): ConnectorConfig => {
        const c = e2eConnector(em);
        return { ...c, targets: c.targets.map((x) => ({ ...x, concurrency: 1 })) as ConnectorConfig['targets'] };
      };
      await seed(connector());
      const checkpoint = (await store().shadow.state(CONNECTOR)).checkpoint;
      const changed = org().users.filter((u) => u.department && !isManager(u)).slice(0, 10);
      for (const u of changed) await control('PATCH', `/users/${u.id}`, { department: `${u.department} (moved)` });
      const KILL_AFTER = 4;

      await incrementalKilledAfter(connector(), KILL_AFTER);
      assert.equal(em.jira.stats.writes, KILL_AFTER);
      assert.equal((await store().shadow.state(CONNECTOR)).checkpoint, checkpoint, 'the checkpoint is not stored before what it covers is applied');

      em.jira.resetStats();
      const rerun = await incremental(connector());
      assert.equal(em.jira.stats.writes, changed.length - KILL_AFTER, 'what the killed run wrote is not written again');
      assert.equal(rerun.run.counts.usersWritten, changed.length - KILL_AFTER);
      assertJiraMatchesDirectory(em.jira, org());
      assert.equal(await store().shadow.count(CONNECTOR, { pending: true }), 0);
      assert.notEqual((await store().shadow.state(CONNECTOR)).checkpoint, checkpoint, 'the checkpoint moved on');
      em.jira.resetStats();
      const again = await incremental(connector());
      assert.equal(again.run.counts.usersWritten, 0);
      assert.equal(em.jira.stats.writes, 0);
    });

    test('a changed mapping rule is projected from the shadow: no user read from Graph, the new values in Jira, the next round writes nothing', async () => {
      await seed();
      const affected = remappedUsers();
      assert.ok(affected.length > USERS / 2, `most users change (${affected.length})`);
      const before = await store().shadow.state(CONNECTOR);

      // A simulation first: the real plan, nothing written (Jira, shadow state), nothing read from Graph but the delta.
      const sim = await engine.run({ connector: remapped(), kind: 'incremental', trigger: 'cli', dryRun: true });
      assert.equal(sim.run.status, 'succeeded', sim.run.error ?? '');
      assert.equal(sim.run.counts.updated, affected.length, 'the simulation plans every affected user');
      assert.equal(em.jira.stats.writes, 0);
      assert.deepEqual(await store().shadow.state(CONNECTOR), before, 'a simulation stores no state');

      em.graph.resetStats();
      const r = await incremental(remapped());
      assert.match(r.run.notice ?? '', new RegExp(`mapping changed: ${USERS} users projected from the shadow, no directory read`));
      assert.equal(r.run.counts.read, 0, 'nobody read from the identity provider');
      const g = graphRequests(em);
      assert.equal(g.delta, 2, `the round's users and groups delta requests only (${JSON.stringify(em.graph.stats.byRoute)})`);
      assert.deepEqual(g.other, [], 'no user, manager or group read from Graph');
      assert.equal(r.run.counts.updated, affected.length);
      assert.equal(r.run.counts.usersWritten, affected.length);
      assert.equal(em.jira.stats.writes, remappedWrites(), 'one request per property changed');
      assert.equal(r.run.counts.failed, 0);
      assertJiraRemapped();
      const items = await planOf(store(), r.run.id);
      assert.deepEqual(new Set(items.filter((i) => i.operation === 'updated').map((i) => i.sourceId)), new Set(affected.map((u) => u.id)));
      const state = await store().shadow.state(CONNECTOR);
      assert.equal(state.checkpoint !== null && state.checkpointKey === before.checkpointKey, true, 'the same query: the checkpoint continues');
      assert.notEqual(state.projectedKey, before.projectedKey, 'the new mappings are marked projected in full');
      assert.equal(await store().shadow.count(CONNECTOR, { pending: true }), 0);
      // What the links claim is what Jira holds: a full read under the new mapping finds every user in step.
      em.jira.resetStats();
      const again = await incremental(remapped());
      assert.equal(again.run.notice, null);
      assert.equal(again.run.counts.usersWritten, 0);
      assert.equal(em.jira.stats.writes, 0, 'the second round writes nothing');
      const full = await engine.run({ connector: remapped(), kind: 'full', trigger: 'cli' });
      assert.equal(full.run.status, 'succeeded', full.run.error ?? '');
      assert.equal(full.run.counts.usersWritten, 0, 'a full read finds nothing the replay missed');
      assert.equal(em.jira.stats.writes, 0);
    });

    test('a mapping change that needs an attribute not read yet seeds the delta again (a Graph read) and says so', async () => {
      await seed();
      const c = e2eConnector(em);
      const needsMore: ConnectorConfig = { ...c, targets: c.targets.map((x) => ({ ...x, mapping: x.mapping.map((r) => (r.target === 'property.department' ? { ...r, source: 'officeLocation' } : r)) })) as ConnectorConfig['targets'] };
      const r = await incremental(needsMore);
      assert.match(r.run.notice ?? '', /mapping changed and needs other attributes.*read again from the identity provider/);
      assert.equal(r.run.counts.read, USERS, 'everyone read again');
      for (const u of org().users) assert.equal(em.jira.inspect(expectedUsername(u))!.properties.department ?? null, u.officeLocation || null, expectedUsername(u));
      const next = await incremental(needsMore);
      assert.equal(next.run.notice, null);
      assert.equal(next.run.counts.usersWritten, 0);
    });

    test('killed in the middle of projecting a mapping change from the shadow: the next round finishes it, nothing written twice, still no Graph user read', async () => {
      await seed();
      const before = await store().shadow.state(CONNECTOR);
      const affected = remappedUsers();
      const KILL_AFTER = 5;
      await incrementalKilledAfter(remapped(1), KILL_AFTER);
      const written = em.jira.stats.writes;
      assert.ok(written >= KILL_AFTER && written < affected.length, `killed part-way (${written} of ${affected.length})`);
      assert.deepEqual(await store().shadow.state(CONNECTOR), before, 'neither the checkpoint nor the projected mappings are stored before the replay is done');

      em.jira.resetStats();
      em.graph.resetStats();
      const rerun = await incremental(remapped(1));
      assert.match(rerun.run.notice ?? '', /mapping changed: \d+ users projected from the shadow, no directory read/, 'the replay is done again');
      assert.deepEqual(graphRequests(em).other, [], 'still no user read from Graph');
      assertJiraRemapped();
      // The write in flight at the kill may be sent again once (its answer was lost); nothing else is.
      const total = written + em.jira.stats.writes;
      assert.ok(total >= remappedWrites() && total <= remappedWrites() + 1, `nothing written twice: ${written} before the kill and ${em.jira.stats.writes} after, for ${remappedWrites()}`);
      assert.ok(rerun.run.counts.usersWritten < affected.length, `the rerun writes only users the killed run did not finish (${rerun.run.counts.usersWritten} of ${affected.length})`);
      assert.equal(await store().shadow.count(CONNECTOR, { pending: true }), 0);
      em.jira.resetStats();
      const again = await incremental(remapped(1));
      assert.equal(again.run.notice, null, 'the replay is finished: not done again');
      assert.equal(em.jira.stats.writes, 0);
    });
  });
}
