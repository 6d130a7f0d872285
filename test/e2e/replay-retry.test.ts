// A mapping change projected from the shadow (shadowReplay, engine/ingest.ts) while a Jira write
// fails: the user whose write failed stays pending in the shadow, and the next incremental round
// retries exactly that user (one write), nobody else. And a single-user sync after a mapping change
// applies the new rules to that user; the next round's replay writes the others, not that user again.
// Entra source over the Graph emulator, the
// engine, the Jira DC emulator with an injected fault; SQLite and PostgreSQL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { storeKinds, type TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { e2eConnector, expectedUsername, planOf, entraSyncHooks, type Emulators } from './harness.ts';

const USERS = 60;
const CONNECTOR = 'entra-e2e';

for (const [kind, openStore] of storeKinds) {
  describe(`a failed write during a shadow replay is retried by the next round (${kind} store)`, () => {
    let em: Emulators;
    let t: TestStore | undefined;
    let engine: SyncEngine;

    entraSyncHooks({ emulators: { users: USERS }, openStore, ready: (w) => ({ env: em, t, engine } = w) });

    /** The department property from jobTitle: a change that needs nothing not read already. */
    const remapped = (): ConnectorConfig => {
      const c = e2eConnector(em);
      return { ...c, targets: c.targets.map((x) => ({ ...x, mapping: x.mapping.map((r) => (r.target === 'property.department' ? { ...r, source: 'jobTitle' } : r)) })) as ConnectorConfig['targets'] };
    };

    test('the user whose Jira write failed is pending after the replay, and the next round retries only it', async () => {
      const seeded = await engine.run({ connector: e2eConnector(em), kind: 'incremental', trigger: 'cli' });
      assert.equal(seeded.run.status, 'succeeded', seeded.run.error ?? '');
      const org = em.graph.directory.org;
      const victim = org.users.find((u) => u.jobTitle && u.department && u.jobTitle !== u.department)!;
      assert.ok(victim, 'a user whose department property the remapping changes');
      const link = await t!.store.links.get(CONNECTOR, 'jira', victim.id);
      assert.ok(link, 'the user is linked');
      em.jira.setFaults({ script: [{ method: 'PUT', pattern: `/user/properties/department\\?userKey=${encodeURIComponent(link.targetKey)}$`, status: 400, body: { errorMessages: ['injected refusal'], errors: {} }, times: 1000 }] });
      const replay = await engine.run({ connector: remapped(), kind: 'incremental', trigger: 'cli' });
      em.jira.setFaults({ script: [] });
      assert.equal(replay.run.status, 'partial', replay.run.error ?? '');
      assert.match(replay.run.notice ?? '', /mapping changed: \d+ users projected from the shadow/);
      assert.equal(replay.run.counts.failed, 1, 'exactly the victim failed');
      assert.deepEqual((await planOf(t!.store, replay.run.id)).filter((i) => i.operation === 'failed').map((i) => i.sourceId), [victim.id]);
      assert.notEqual(em.jira.inspect(expectedUsername(victim))!.properties.department, victim.jobTitle, 'the refused write did not land');
      assert.deepEqual((await t!.store.shadow.digestsOf(CONNECTOR, [victim.id])).get(victim.id)?.pending, true, 'the victim is pending in the shadow');
      assert.equal(await t!.store.shadow.count(CONNECTOR, { pending: true }), 1, 'nobody else is');

      em.jira.resetStats();
      const retry = await engine.run({ connector: remapped(), kind: 'incremental', trigger: 'cli' });
      assert.equal(retry.run.status, 'succeeded', `${retry.run.error} ${retry.run.notice}`);
      assert.equal(retry.run.notice, null, 'the replay is not done again');
      const items = await planOf(t!.store, retry.run.id);
      assert.deepEqual(items.map((i) => [i.sourceId, i.operation, i.changes.map((c) => c.field)]), [[victim.id, 'updated', ['property.department']]], 'exactly the victim, its one field');
      assert.equal(em.jira.stats.writes, 1, 'one write: the retried property');
      assert.equal(em.jira.inspect(expectedUsername(victim))!.properties.department, victim.jobTitle);
      assert.equal(await t!.store.shadow.count(CONNECTOR, { pending: true }), 0, 'settled');
    });

    test('a single-user sync after a mapping change applies the new rules to that user; the next round replays the rest without writing it again', async () => {
      assert.equal((await engine.run({ connector: e2eConnector(em), kind: 'incremental', trigger: 'cli' })).run.status, 'succeeded');
      const org = em.graph.directory.org;
      const changing = org.users.filter((u) => u.jobTitle && u.department && u.jobTitle !== u.department);
      assert.ok(changing.length > 2, `users the remapping changes (${changing.length})`);
      const first = changing[0]!;
      const one = await engine.run({ connector: remapped(), kind: 'user', userRef: first.id, trigger: 'cli' });
      assert.equal(one.run.status, 'succeeded', one.run.error ?? '');
      assert.deepEqual(one.user?.targets.map((x) => [x.operation, x.changes.map((c) => c.field)]), [['updated', ['property.department']]], 'the new rule applied to that user');
      assert.equal(em.jira.inspect(expectedUsername(first))!.properties.department, first.jobTitle);

      em.jira.resetStats();
      const replay = await engine.run({ connector: remapped(), kind: 'incremental', trigger: 'cli' });
      assert.equal(replay.run.status, 'succeeded', replay.run.error ?? '');
      assert.match(replay.run.notice ?? '', /mapping changed: \d+ users projected from the shadow/);
      const items = await planOf(t!.store, replay.run.id);
      const updated = items.filter((i) => i.operation === 'updated').map((i) => i.sourceId);
      assert.ok(updated.length > 0 && !updated.includes(first.id), `the others are written (${updated.length}), not the user synced alone`);
      // The user synced alone is not written twice: unchanged, so counted and not listed (a replay projects everyone).
      assert.equal(items.find((i) => i.sourceId === first.id), undefined, 'the user synced alone is not written twice');
      assert.ok((replay.run.counts.unchangedUnlisted ?? 0) >= 1, `counted unchanged, not listed: ${JSON.stringify(replay.run.counts)}`);
      assert.equal(replay.run.counts.unchanged, replay.run.counts.unchangedUnlisted, 'every unchanged user of the replay is linked as before');
      assert.equal(replay.run.counts.updated, updated.length);
      assert.equal(em.jira.stats.writes, updated.length, 'one property write per other user');
      for (const u of changing) assert.equal(em.jira.inspect(expectedUsername(u))!.properties.department, u.jobTitle, `${u.userPrincipalName}: department from jobTitle`);
      // In step: a full read under the new mapping writes nothing.
      em.jira.resetStats();
      const full = await engine.run({ connector: remapped(), kind: 'full', trigger: 'cli' });
      assert.equal(full.run.counts.usersWritten, 0, `nothing left (${full.run.error})`);
    });
  });
}
