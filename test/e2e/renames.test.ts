// Renames and first contact end to end: the real Entra source over TLS against the Graph
// emulator, into the Jira DC emulator. A user renamed in Entra (UPN and mail) keeps the same
// Jira account (its user key), renamed; a Jira account that already holds the new name is
// named in the error and left as it was; first contact by e-mail links the account an
// administrator created by hand, and the simulation says so before anything is linked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncRequest } from '../../src/engine/api.ts';
import type { OrgUser } from '../../emulators/org/types.ts';
import { e2eConnector, expectedEmail, expectedUsername, patchDirectoryUser, entraSyncHooks, type Emulators } from './harness.ts';

const USERS = 25;

describe('Entra ID → Jira DC: renames and first contact', () => {
  let em: Emulators;
  let t: TestStore | undefined;
  let engine: SyncEngine;

  entraSyncHooks({ emulators: { users: USERS }, ready: (w) => ({ env: em, t, engine } = w) });

  const sync = (extra: Partial<SyncRequest> = {}) => engine.run({ connector: e2eConnector(em), kind: 'full', trigger: 'cli', ...extra });
  const member = (): OrgUser => {
    const u = em.graph.directory.org.users.find((x) => x.userType === 'Member' && !!x.mail && x.accountEnabled && !em.graph.directory.org.users.some((y) => y.managerId === x.id));
    assert.ok(u, 'the seeded org has a member who manages nobody');
    return u;
  };
  const item = async (runId: string, sourceId: string) => {
    const found = (await t!.store.runs.items(runId, { limit: 1000 })).items.find((i) => i.sourceId === sourceId);
    assert.ok(found, `run ${runId} has an item for ${sourceId}`);
    return found;
  };

  test('a UPN and mail rename in Entra renames the same Jira account: the user key stays, no second account', async () => {
    const first = await sync();
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    const u = member();
    const oldUsername = expectedUsername(u);
    const before = em.jira.inspect(oldUsername)!;
    const accounts = [...em.jira.store.allUsers()].length;

    const domain = u.userPrincipalName.split('@')[1]!;
    await patchDirectoryUser(em.graph, u.id, { userPrincipalName: `renamed.person@${domain}`, mail: `renamed.person@${domain}` });
    const r = await sync();
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    const after = em.jira.inspect(before.key)!;
    assert.equal(after.name, 'renamed.person', 'the username follows the UPN');
    assert.equal(after.emailAddress, `renamed.person@${domain}`);
    assert.equal(em.jira.inspect(oldUsername), undefined, 'the old username no longer exists');
    assert.equal([...em.jira.store.allUsers()].length, accounts, 'no second account');
    const link = await t!.store.links.get('entra-e2e', 'jira', u.id);
    assert.equal(link?.targetKey, before.key);
    assert.equal(link?.targetUsername, 'renamed.person');
    const changed = await item(r.run.id, u.id);
    assert.equal(changed.operation, 'updated');
    assert.deepEqual(
      changed.changes.map((c) => c.field).sort(),
      ['user.email', 'user.username'],
      'exactly the renamed fields were written',
    );
  });

  test('a rename onto a username another Jira account holds fails naming that account; neither account changes', async () => {
    await sync();
    const u = member();
    const mine = em.jira.inspect(expectedUsername(u))!;
    const other = em.jira.store.createUser({ name: 'taken.name', displayName: 'Hand Made', emailAddress: 'hand.made@example.com' });
    const domain = u.userPrincipalName.split('@')[1]!;
    await patchDirectoryUser(em.graph, u.id, { userPrincipalName: `taken.name@${domain}`, displayName: 'New Display' });
    em.jira.resetStats();
    const r = await sync();
    const failed = await item(r.run.id, u.id);
    assert.equal(failed.operation, 'failed');
    assert.match(failed.error ?? '', new RegExp(`${mine.name} \\(key ${mine.key}\\) is to get the username "taken.name", but taken.name \\(key ${other.key}\\) already has it`));
    assert.equal(em.jira.stats.writes, 0, 'nothing was sent for that user');
    assert.equal(em.jira.inspect(mine.key)!.name, mine.name);
    assert.equal(em.jira.inspect(mine.key)!.displayName, mine.displayName, 'not even the display name was overwritten');
    assert.equal(em.jira.inspect(other.key)!.displayName, 'Hand Made');
  });

  test('first contact by e-mail: the simulation says which account it would link, the real run links it', async () => {
    const u = member();
    const handMade = em.jira.store.createUser({ name: 'legacy.login', displayName: 'Legacy', emailAddress: expectedEmail(u) });
    const dry = await sync({ dryRun: true });
    assert.equal(dry.run.status, 'succeeded', dry.run.error ?? '');
    assert.equal(await t!.store.links.count('entra-e2e'), 0, 'a simulation links nobody');
    assert.equal(em.jira.inspect(handMade.key)!.name, 'legacy.login');
    const simulated = await item(dry.run.id, u.id);
    assert.equal(simulated.details?.match, `would link to legacy.login (key ${handMade.key}) by email "${expectedEmail(u)}"`);
    const others = (await t!.store.runs.items(dry.run.id, { operation: 'created', limit: 1000 })).items;
    assert.ok(others.length > 0 && others.every((i) => String(i.details?.match).startsWith('would create: no account has username')), 'everyone else would be created');

    const real = await sync();
    assert.equal(real.run.status, 'succeeded', real.run.error ?? '');
    assert.equal((await t!.store.links.get('entra-e2e', 'jira', u.id))?.targetKey, handMade.key);
    assert.equal(em.jira.inspect(handMade.key)!.name, expectedUsername(u), 'renamed to the mapped username');
  });
});
