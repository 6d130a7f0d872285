// Target conformance suite: one set of behavioural tests every TargetConnector must pass,
// run against that target's emulator.
//
// How to use it for a new target (see jira-dc.test.ts for a complete example):
//
//   import { runTargetConformance } from './target-suite.ts';
//   runTargetConformance('confluence-dc', async () => {
//     const emu = await startConfluenceDcEmulator();
//     return { connector, newUser, seedUser, seedGroup, inspect, groupExists,
//              setFaults, writeCount, resetCounters, reset, close, createConflict: 'link' };
//   });
//
// Optional harness parts for the lifecycle tests: `seedUndeletable` (a user the product refuses
// to delete), `uniqueEmails` (the product refuses a second account per e-mail), `accessGroups`
// (the Cloud targets' configured product-access groups), `pseudonymEmailDomain`.
//
// The harness is built once per suite; `reset()` runs before every test and must bring the
// emulator back to its seeded state with no faults. Tests a target cannot take part in are
// skipped from its declared capabilities: group tests need a `groups` field, property tests a
// `property.` field, activation tests `user.active`, rename tests `user.username`, creation tests
// `canCreateUsers` (otherwise users come from `seedUser`).
//
// What it checks: create, update, no-op (zero write requests), deactivate/activate, group
// add/remove, missing group with and without createMissingGroups, property set/clear, too-large
// values refused before sending, 404 (gone users), 409 on create, a 429 storm and transient 5xx
// converging, per-field failure isolation, and credential errors stopping the run (throwing);
// and the declared lifecycle (issue 10): disable/enable, delete (and a refused delete), rename,
// anonymise and restore, username/e-mail collisions, removing product access.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Faults, RunningEmulator } from '../../emulators/common/server.ts';
import { isIdsyncError } from '../../src/core/errors.ts';
import type { FieldResult, FieldValues, Json, TargetConnector, TargetField, TargetUserRef, UserWrite, WriteResult } from '../../src/core/types.ts';

/**
 * The harness parts every emulator built on emulators/common answers the same way: its fault
 * model, its write and fault counters, POST /_emulator/reset (204; over TLS with the emulator's
 * own CA where it has one) and closing it.
 */
export function emulatorHarness(emu: RunningEmulator): Pick<TargetHarness, 'setFaults' | 'writeCount' | 'resetCounters' | 'faultsInjected' | 'reset' | 'close'> {
  return {
    setFaults: async (f) => emu.setFaults(f),
    writeCount: async () => emu.stats.writes,
    resetCounters: async () => emu.resetStats(),
    faultsInjected: async () => emu.stats.faultsInjected,
    async reset() {
      const dispatcher = emu.ca ? new Agent({ connect: { ca: emu.ca } }) : undefined;
      try {
        const res = await undiciFetch(`${emu.url}/_emulator/reset`, { method: 'POST', dispatcher });
        await res.arrayBuffer();
        if (res.status !== 204) throw new Error(`emulator reset answered ${res.status}`);
      } finally {
        await dispatcher?.close();
      }
    },
    close: () => emu.close(),
  };
}

/** A new user's values, unique per `suffix`; `username: false` for targets without usernames (the Cloud ones). */
export function conformanceUser(suffix: string, opts: { username?: boolean; active?: boolean } = {}): FieldValues {
  return {
    ...(opts.username === false ? {} : { 'user.username': `conf.${suffix}` }),
    'user.displayName': `Conformance ${suffix}`,
    'user.email': `conf.${suffix}@example.com`,
    ...(opts.active === false ? {} : { 'user.active': true }),
  };
}

export interface TargetHarness {
  /** The connector under test, configured (with fast retries) against the emulator. */
  connector: TargetConnector;
  /**
   * Desired values of a new user, unique per `suffix`; must include every field the target
   * marks requiredOnCreate (e.g. username, display name, email).
   */
  newUser(suffix: string): FieldValues;
  /** Puts a user straight into the emulator (bypassing the connector); returns its ref. */
  seedUser(values: FieldValues): Promise<TargetUserRef>;
  /** Creates a group straight in the emulator. */
  seedGroup(name: string): Promise<void>;
  /**
   * What the emulator stores for the user, as target field values: account fields
   * (`user.*`), `groups` (sorted) and `property.<key>` / other fields it holds. Null when gone.
   */
  inspect(ref: TargetUserRef): Promise<FieldValues | null>;
  groupExists(name: string): Promise<boolean>;
  /** Faults on the emulator that serves the writes (the common emulator fault model). */
  setFaults(faults: Partial<Faults>): Promise<void>;
  /** Write (non-GET) requests the emulator received since `resetCounters()`. */
  writeCount(): Promise<number>;
  resetCounters(): Promise<void>;
  /** Faults the emulator really injected since `resetCounters()` (proves fault tests bit). Optional. */
  faultsInjected?(): Promise<number>;
  /** Back to the seeded state, no faults, counters zeroed. */
  reset(): Promise<void>;
  close(): Promise<void>;
  /**
   * What the target does when a create meets an existing user (409, or the product's
   * "already exists"): `link` = adopt the existing user and return its ref, `fail` = reject
   * with a clear CONFLICT / BAD_REQUEST error.
   */
  createConflict: 'link' | 'fail';
  /** The same connector with wrong credentials, to check that AUTH errors throw. */
  badCredentials?: () => TargetConnector;
  /**
   * The string-valued field that the generic update, isolation, 404, 409, 429, 5xx and
   * credential tests write. Default `user.displayName`; a target that cannot write it (Jira
   * Cloud) names another field it declares, e.g. `property.idsyncProbe`.
   */
  probeField?: string;
  /**
   * A user the product refuses to delete (e.g. a Jira project lead), put straight into the
   * emulator. When given and the target declares `lifecycle.delete`, deleteUser must reject it
   * with CONFLICT and leave the user in place.
   */
  seedUndeletable?(values: FieldValues): Promise<TargetUserRef>;
  /** Whether the product refuses a second account with the same e-mail (then a collision is tested). */
  uniqueEmails?: boolean;
  /** The product-access groups the connector is configured with (targets that declare removeAccess). */
  accessGroups?: string[];
  /**
   * The domain of pseudonym e-mails when anonymising (default `invalid.example`); a product that
   * accepts only its verified domains (the Atlassian organisation) names one.
   */
  pseudonymEmailDomain?: string;
}

const ACCOUNT_DISPLAY = 'user.displayName';

export function runTargetConformance(name: string, makeHarness: () => Promise<TargetHarness>): void {
  describe(`target conformance: ${name}`, () => {
    let h: TargetHarness;
    let n = 0;
    const unique = () => `c${++n}`;

    before(async () => {
      h = await makeHarness();
    });
    after(async () => {
      await h.connector.close?.();
      await h.close();
    });
    beforeEach(async () => {
      await h.reset();
    });

    // Capabilities are read lazily: the harness exists only once `before` has run, so each
    // test decides there whether it applies (and skips itself with the reason).
    const caps = () => h.connector.capabilities();
    const has = (field: string) => caps().fields.some((f) => f.name === field);
    const probe = () => h.probeField ?? ACCOUNT_DISPLAY;
    const requires = (t: { skip: (msg?: string) => void }, field: string): boolean => {
      if (has(field)) return true;
      t.skip(`${name} does not declare ${field}`);
      return false;
    };

    /** A user that exists in the target: created through the connector when it can, else seeded. */
    async function existingUser(): Promise<{ ref: TargetUserRef; values: FieldValues }> {
      const values = h.newUser(unique());
      if (caps().canCreateUsers) {
        const res = await h.connector.write({ op: 'create', desired: values, changes: [], options: { createMissingGroups: false } });
        assertAllOk(res);
        return { ref: res.ref, values };
      }
      return { ref: await h.seedUser(values), values };
    }

    const update = (ref: TargetUserRef, changes: UserWrite['changes'], createMissingGroups = false) =>
      h.connector.write({ op: 'update', ref, desired: {}, changes, options: { createMissingGroups } });

    test('capabilities: every requiredOnCreate field is produced by the harness', () => {
      const c = caps();
      assert.ok(c.kind, 'capabilities name the target kind');
      const sample = h.newUser('caps');
      for (const f of c.fields.filter((x) => x.requiredOnCreate)) assert.notEqual(sample[f.name] ?? null, null, `newUser() lacks ${f.name}`);
    });

    test('create: the user appears with the desired values and is found by key, username and email', async (t) => {
      if (!caps().canCreateUsers) return t.skip(`${name} cannot create users`);
      const desired = h.newUser(unique());
      const res = await h.connector.write({ op: 'create', desired, changes: [], options: { createMissingGroups: false } });
      assertAllOk(res);
      assert.ok(res.ref.key, 'a created user has a key');
      const stored = await h.inspect(res.ref);
      assert.ok(stored, 'the emulator holds the created user');
      for (const f of accountFields(desired)) assert.deepEqual(stored[f], desired[f], f);

      const byKey = await h.connector.findUser({ key: res.ref.key });
      assert.equal(byKey?.ref.key, res.ref.key);
      if (typeof desired['user.username'] === 'string') {
        const byName = await h.connector.findUser({ username: desired['user.username'] });
        assert.equal(byName?.ref.key, res.ref.key);
      }
      if (typeof desired['user.email'] === 'string') {
        const byEmail = await h.connector.findUser({ email: desired['user.email'].toUpperCase() });
        assert.equal(byEmail?.ref.key, res.ref.key, 'email matching ignores case');
      }
    });

    test('findUser and readUser: an unknown user is null, not an error', async () => {
      assert.equal(await h.connector.findUser({ key: 'no-such-key-42', username: 'no-such-user-42', email: 'no-such-user-42@example.invalid' }), null);
      assert.equal(await h.connector.readUser({ key: 'no-such-key-42' }, [probe()]), null);
    });

    test('update: a changed display name is written and read back', async () => {
      const { ref, values } = await existingUser();
      const after = `Renamed ${unique()} Ünïcødé`;
      const res = await update(ref, [{ field: probe(), before: values[probe()], after }]);
      assertAllOk(res);
      assert.equal((await h.inspect(ref))?.[probe()], after);
      assert.equal((await h.connector.readUser(res.ref, [probe()]))?.values[probe()], after);
    });

    test('no-op: a write without changes sends zero write requests', async () => {
      const { ref } = await existingUser();
      await h.resetCounters();
      const res = await update(ref, []);
      assert.deepEqual(res.fields, []);
      assert.equal(await h.writeCount(), 0);
    });

    test('deactivate and activate', async (t) => {
      if (!requires(t, 'user.active')) return;
      const { ref } = await existingUser();
      assertAllOk(await update(ref, [{ field: 'user.active', before: true, after: false }]));
      assert.equal((await h.inspect(ref))?.['user.active'], false);
      assertAllOk(await update(ref, [{ field: 'user.active', before: false, after: true }]));
      assert.equal((await h.inspect(ref))?.['user.active'], true);
    });

    test('rename: the key stays, the user is read by key under the new username', async (t) => {
      if (!requires(t, 'user.username')) return;
      const { ref, values } = await existingUser();
      const renamed = `renamed-${unique()}`;
      const res = await update(ref, [{ field: 'user.username', before: values['user.username'], after: renamed }]);
      assertAllOk(res);
      assert.equal(res.ref.key, ref.key);
      assert.equal((await h.connector.readUser({ key: ref.key }, []))?.values['user.username'], renamed);
      assert.equal((await h.inspect(ref))?.['user.username'], renamed);
    });

    test('groups: add and remove memberships', async (t) => {
      if (!requires(t, 'groups')) return;
      const [a, b] = [`grp-a-${unique()}`, `grp-b-${unique()}`];
      await h.seedGroup(a);
      await h.seedGroup(b);
      const { ref } = await existingUser();
      assertAllOk(await update(ref, [{ field: 'groups', before: [], after: [a, b], add: [a, b], remove: [] }]));
      let groups = (await h.inspect(ref))?.groups as string[];
      assert.ok(groups.includes(a) && groups.includes(b), `member of ${a} and ${b}: ${groups}`);
      const read = (await h.connector.readUser(ref, ['groups']))?.values.groups as string[];
      assert.ok(read.includes(a) && read.includes(b), 'read.includes(a) && read.includes(b)');
      assert.deepEqual(read, [...read].sort(), 'groups are returned sorted');

      assertAllOk(await update(ref, [{ field: 'groups', before: [a, b], after: [b], add: [], remove: [a] }]));
      groups = (await h.inspect(ref))?.groups as string[];
      assert.ok(!groups.includes(a) && groups.includes(b), `left ${a}, kept ${b}: ${groups}`);

      // Repeating a finished change converges instead of failing (the executor may retry).
      assertAllOk(await update(ref, [{ field: 'groups', before: [a, b], after: [b], add: [b], remove: [a] }]));
    });

    test('groups: a missing group fails that field unless createMissingGroups is on', async (t) => {
      if (!requires(t, 'groups')) return;
      const { ref } = await existingUser();
      const missing = `grp-missing-${unique()}`;
      const refused = await update(ref, [{ field: 'groups', before: [], after: [missing], add: [missing], remove: [] }], false);
      const r = fieldResult(refused, 'groups');
      assert.equal(r.ok, false);
      assert.match(r.error ?? '', new RegExp(escapeRe(missing)), 'the message names the group');
      assert.equal(await h.groupExists(missing), false, 'nothing was created');

      const created = await update(ref, [{ field: 'groups', before: [], after: [missing], add: [missing], remove: [] }], true);
      assertAllOk(created);
      assert.equal(await h.groupExists(missing), true);
      assert.ok(((await h.inspect(ref))?.groups as string[]).includes(missing), '((await h.inspect(ref))?.groups as string[]).includes(missing)');
    });

    test('properties: set, replace and clear a JSON value', async (t) => {
      if (!requires(t, 'property.')) return;
      const { ref } = await existingUser();
      const field = 'property.idsyncConformance';
      const value: Json = { costCenter: 'CC-4711', tags: ['a', 'ü'], n: 1 };
      assertAllOk(await update(ref, [{ field, before: null, after: value }]));
      assert.deepEqual((await h.inspect(ref))?.[field], value);
      assert.deepEqual((await h.connector.readUser(ref, [field]))?.values[field], value);
      assertAllOk(await update(ref, [{ field, before: value, after: 'plain string' }]));
      assert.equal((await h.inspect(ref))?.[field], 'plain string');
      assertAllOk(await update(ref, [{ field, before: 'plain string', after: null }]));
      assert.equal((await h.inspect(ref))?.[field] ?? null, null);
      assert.equal((await h.connector.readUser(ref, [field]))?.values[field] ?? null, null);
      // Clearing what is already absent is fine.
      assertAllOk(await update(ref, [{ field, before: null, after: null }]));
    });

    test('too-large values are refused before sending, with the sizes in the message', async (t) => {
      const limited = caps().fields.filter((f) => f.maxLength !== undefined);
      if (!limited.length) return t.skip(`${name} declares no length limits`);
      const { ref } = await existingUser();
      for (const f of limited) {
        const field = f.name.endsWith('.') ? `${f.name}idsyncTooLarge` : f.name;
        const after = oversized(f);
        const size = (f.type === 'json' ? JSON.stringify(after) : String(after)).length;
        await h.resetCounters();
        const res = await update(ref, [{ field, before: null, after }]);
        const r = fieldResult(res, field);
        assert.equal(r.ok, false, `${field} of ${size} characters must fail`);
        assert.match(r.error ?? '', new RegExp(size.toLocaleString('en-US')), 'the message gives the value size');
        assert.match(r.error ?? '', new RegExp(f.maxLength!.toLocaleString('en-US')), 'the message gives the limit');
        assert.equal(await h.writeCount(), 0, 'nothing was sent');
      }
    });

    test('per-field failure isolation: one failing field does not stop the others', async (t) => {
      const failing = failingChange(caps().fields, unique());
      if (!failing) return t.skip(`${name} has no field that can be made to fail`);
      const { ref, values } = await existingUser();
      const after = `Isolated ${unique()}`;
      const res = await update(ref, [failing, { field: probe(), before: values[probe()], after }]);
      assert.equal(fieldResult(res, failing.field).ok, false);
      assert.equal(fieldResult(res, probe()).ok, true);
      assert.equal((await h.inspect(ref))?.[probe()], after);
    });

    test('404: updating a user that no longer exists says NOT_FOUND (or fails every field)', async () => {
      const gone = { key: 'no-such-key-404', username: 'no-such-user-404' };
      try {
        const res = await update(gone, [{ field: probe(), before: 'a', after: 'b' }]);
        assert.ok(res.fields.length > 0 && res.fields.every((f) => !f.ok), 'every field failed');
      } catch (e) {
        assert.ok(isIdsyncError(e, 'NOT_FOUND'), `expected NOT_FOUND, got ${e}`);
      }
    });

    test('409 on create: the user is found and linked, or the write fails clearly', async (t) => {
      if (!caps().canCreateUsers) return t.skip(`${name} cannot create users`);
      // A user that exists already (created behind idsync's back), then a create for it.
      const desired = h.newUser(unique());
      const existing = await h.seedUser(desired);
      const changedName = `Linked ${unique()}`;
      await h.resetCounters();
      await h.setFaults({ script: [{ method: 'POST', status: 409, times: 1 }] });
      const attempt = h.connector.write({
        op: 'create',
        desired: { ...desired, [probe()]: changedName },
        changes: [],
        options: { createMissingGroups: false },
      });
      if (h.createConflict === 'link') {
        const res = await attempt;
        assertAllOk(res);
        assert.equal(res.ref.key, existing.key, 'linked to the existing user');
        assert.equal((await h.inspect(existing))?.[probe()], changedName, 'brought to the desired values');
      } else {
        await assert.rejects(attempt, (e: unknown) => isIdsyncError(e) && (e.code === 'CONFLICT' || e.code === 'BAD_REQUEST') && e.message.length > 10);
      }
      if (h.faultsInjected) assert.equal(await h.faultsInjected(), 1, 'the 409 was answered');
    });

    test('409 on create of a user that does not exist: a clear failure, nothing half-done', async (t) => {
      if (!caps().canCreateUsers) return t.skip(`${name} cannot create users`);
      const desired = h.newUser(unique());
      await h.setFaults({ script: [{ method: 'POST', status: 409, times: 1 }] });
      try {
        const res = await h.connector.write({ op: 'create', desired, changes: [], options: { createMissingGroups: false } });
        // A connector may retry through a spurious 409; then the user must really exist.
        assertAllOk(res);
        assert.ok(await h.inspect(res.ref), 'await h.inspect(res.ref)');
      } catch (e) {
        assert.ok(isIdsyncError(e) && !['AUTH', 'CONFIG'].includes(e.code), `a per-user error, got ${e}`);
      }
    });

    test('429 storm: the write waits as told and converges', async () => {
      const { ref, values } = await existingUser();
      await h.resetCounters();
      await h.setFaults({ script: [{ status: 429, times: 6, headers: { 'retry-after': '0' } }] });
      const after = `After storm ${unique()}`;
      assertAllOk(await update(ref, [{ field: probe(), before: values[probe()], after }]));
      assert.equal((await h.inspect(ref))?.[probe()], after);
      if (h.faultsInjected) assert.equal(await h.faultsInjected(), 6, 'all six 429s were answered');
    });

    test('transient 5xx: retried until the write converges', async () => {
      const { ref, values } = await existingUser();
      await h.resetCounters();
      await h.setFaults({ script: [{ status: 502, times: 1 }, { status: 500, times: 2 }] });
      const after = `After 5xx ${unique()}`;
      assertAllOk(await update(ref, [{ field: probe(), before: values[probe()], after }]));
      assert.equal((await h.inspect(ref))?.[probe()], after);
      if (h.faultsInjected) assert.equal(await h.faultsInjected(), 3, 'all three 5xx were answered');
    });

    // ------------------------------------------------------------ lifecycle (issue 10)
    // Each declared lifecycle action is exercised, and each declared false must come with a
    // reason and must not be half-offered: a wrong declaration fails here.

    const lifecycle = () => caps().lifecycle;
    const reasonFor = (action: keyof NonNullable<ReturnType<typeof lifecycle>['reasons']>) => {
      const reason = lifecycle().reasons?.[action];
      assert.ok(typeof reason === 'string' && reason.length > 10, `${name} declares ${action}: false without a reason for the administrator`);
    };

    test('lifecycle: disable then enable round-trips, and a disabled user is still found', async () => {
      if (!lifecycle().disable) {
        reasonFor('disable');
        assert.ok(!has('user.active'), `${name} declares user.active but lifecycle.disable: false`);
        return;
      }
      assert.ok(has('user.active'), 'lifecycle.disable needs the user.active field');
      const { ref, values } = await existingUser();
      assertAllOk(await update(ref, [{ field: 'user.active', before: true, after: false }]));
      assert.equal((await h.inspect(ref))?.['user.active'], false, 'the emulator holds the user inactive');
      const found = await h.connector.findUser({ key: ref.key });
      assert.equal(found?.ref.key, ref.key, 'an inactive user is still found by key (so a returner is re-enabled, not re-created)');
      assert.equal(found?.values['user.active'], false, 'and reads as inactive');
      if (typeof values['user.username'] === 'string') {
        assert.equal((await h.connector.findUser({ username: values['user.username'] }))?.ref.key, ref.key, 'and by username');
      }
      assertAllOk(await update(ref, [{ field: 'user.active', before: false, after: true }]));
      assert.equal((await h.inspect(ref))?.['user.active'], true, 'reactivated');
    });

    test('lifecycle: delete makes the user unfindable, and a second delete still resolves', async () => {
      if (!lifecycle().delete) {
        reasonFor('delete');
        assert.equal(h.connector.deleteUser, undefined, `${name} declares delete: false but offers deleteUser`);
        return;
      }
      assert.equal(typeof h.connector.deleteUser, 'function', 'lifecycle.delete needs deleteUser()');
      const { ref, values } = await existingUser();
      await h.connector.deleteUser!(ref);
      assert.equal(await h.inspect(ref), null, 'the emulator no longer holds the user');
      assert.equal(await h.connector.findUser({ key: ref.key }), null, 'not found by key');
      if (typeof values['user.username'] === 'string') assert.equal(await h.connector.findUser({ username: values['user.username'] }), null, 'not found by username');
      if (typeof values['user.email'] === 'string') assert.equal(await h.connector.findUser({ email: values['user.email'] }), null, 'not found by email');
      assert.equal(await h.connector.readUser(ref, []), null, 'readUser says gone');
      await h.connector.deleteUser!(ref); // already gone: the wanted state
    });

    test('lifecycle: a delete converges through a transient 5xx on the deleting request', async (t) => {
      if (!lifecycle().delete) return t.skip(`${name} cannot delete`);
      const { ref } = await existingUser();
      await h.resetCounters();
      // Whichever method the product deletes with (DELETE, or POST for the Atlassian lifecycle API).
      await h.setFaults({ script: [{ method: 'DELETE', status: 502, times: 1 }, { method: 'POST', status: 502, times: 1 }] });
      await h.connector.deleteUser!(ref);
      assert.equal(await h.inspect(ref), null, 'deleted after the retry');
      if (h.faultsInjected) assert.ok((await h.faultsInjected()) >= 1, 'the 502 was answered');
    });

    test('lifecycle: a delete the product refuses is CONFLICT with its reason, and the user stays', async (t) => {
      if (!lifecycle().delete) return t.skip(`${name} cannot delete`);
      if (!h.seedUndeletable) return t.skip(`${name} has no delete the product refuses`);
      const ref = await h.seedUndeletable(h.newUser(unique()));
      await assert.rejects(h.connector.deleteUser!(ref), (e: unknown) => isIdsyncError(e, 'CONFLICT') && e.message.length > 20);
      assert.ok(await h.inspect(ref), 'the user is still there');
    });

    test('lifecycle: a rename keeps the key and findUser finds the new name, not the old', async () => {
      if (!lifecycle().renameUsername) {
        reasonFor('renameUsername');
        if (!has('user.username')) return;
        // Declared field, no rename: the change must fail on its field, with nothing written.
        const { ref, values } = await existingUser();
        const res = await update(ref, [{ field: 'user.username', before: values['user.username'], after: `renamed-${unique()}` }]);
        const r = fieldResult(res, 'user.username');
        assert.equal(r.ok, false, 'a username change is refused');
        assert.ok((r.error ?? '').length > 10, 'with a clear error');
        assert.equal((await h.inspect(ref))?.['user.username'], values['user.username'], 'the username is unchanged');
        return;
      }
      assert.ok(has('user.username'), 'lifecycle.renameUsername needs the user.username field');
      const { ref, values } = await existingUser();
      const renamed = `moved-${unique()}`;
      const res = await update(ref, [{ field: 'user.username', before: values['user.username'], after: renamed }]);
      assertAllOk(res);
      assert.equal(res.ref.key, ref.key, 'the key stays');
      assert.equal((await h.connector.findUser({ username: renamed }))?.ref.key, ref.key, 'found by the new username');
      assert.equal(await h.connector.findUser({ username: String(values['user.username']) }), null, 'the old username is free');
    });

    test('lifecycle: anonymise replaces name and e-mail keeping the key, and restore brings them back', async () => {
      if (!lifecycle().anonymise) {
        reasonFor('anonymise');
        return;
      }
      const { ref, values } = await existingUser();
      const tag = unique();
      const pseudonym: FieldValues = {};
      if (has('user.username') && lifecycle().renameUsername) pseudonym['user.username'] = `anon-${tag}`;
      if (has('user.displayName')) pseudonym['user.displayName'] = `Former user ${tag}`;
      if (has('user.email')) pseudonym['user.email'] = `anon-${tag}@${h.pseudonymEmailDomain ?? 'invalid.example'}`;
      assert.ok(Object.keys(pseudonym).length >= 2, `anonymise needs at least a name and an e-mail field, ${name} has ${Object.keys(pseudonym)}`);
      const toPseudonym = Object.entries(pseudonym).map(([field, after]) => ({ field, before: values[field], after }));
      const res = await update(ref, toPseudonym);
      assertAllOk(res);
      assert.equal(res.ref.key, ref.key, 'the key stays');
      const stored = await h.inspect(ref);
      for (const [f, v] of Object.entries(pseudonym)) assert.equal(stored?.[f], v, `${f} is the pseudonym`);
      if (pseudonym['user.email']) assert.equal((await h.connector.findUser({ email: String(pseudonym['user.email']) }))?.ref.key, ref.key, 'found by the pseudonym e-mail');
      // The person returns: the original values come back on the same account.
      const restore = Object.entries(pseudonym).map(([field, before]) => ({ field, before, after: values[field] }));
      assertAllOk(await update(res.ref, restore));
      const back = await h.inspect(ref);
      for (const f of Object.keys(pseudonym)) assert.equal(back?.[f], values[f], `${f} restored`);
    });

    test('collision: a username or e-mail taken by another user fails that field, nothing is overwritten', async (t) => {
      const renames = lifecycle().renameUsername && has('user.username');
      const emails = h.uniqueEmails === true && has('user.email');
      if (!renames && !emails) return t.skip(`${name} neither renames nor enforces unique e-mails`);
      const a = await existingUser();
      const b = await existingUser();
      if (renames) {
        const res = await update(a.ref, [{ field: 'user.username', before: a.values['user.username'], after: b.values['user.username'] }]);
        const r = fieldResult(res, 'user.username');
        assert.equal(r.ok, false, "taking another user's username is refused");
        assert.ok((r.error ?? '').length > 10, 'with a clear error');
        assert.equal((await h.inspect(a.ref))?.['user.username'], a.values['user.username'], 'the renamed user is unchanged');
        assert.equal((await h.inspect(b.ref))?.['user.username'], b.values['user.username'], 'the other user is unchanged');
      }
      if (emails) {
        const res = await update(a.ref, [{ field: 'user.email', before: a.values['user.email'], after: b.values['user.email'] }]);
        assert.equal(fieldResult(res, 'user.email').ok, false, "taking another user's e-mail is refused");
        assert.equal((await h.inspect(a.ref))?.['user.email'], a.values['user.email'], 'the e-mail is unchanged');
      }
    });

    test('lifecycle: remove access takes the configured product-access groups away, the account stays', async () => {
      if (!lifecycle().removeAccess) {
        reasonFor('removeAccess');
        return;
      }
      const groups = h.accessGroups ?? [];
      assert.ok(groups.length > 0 && has('groups'), 'removeAccess needs configured access groups and the groups field');
      for (const g of groups) await h.seedGroup(g);
      const { ref } = await existingUser();
      assertAllOk(await update(ref, [{ field: 'groups', before: [], after: groups, add: groups, remove: [] }]));
      assertAllOk(await update(ref, [{ field: 'groups', before: groups, after: [], add: [], remove: groups }]));
      const stored = await h.inspect(ref);
      assert.ok(stored, 'the account still exists');
      for (const g of groups) assert.ok(!(stored.groups as string[]).includes(g), `no longer in ${g}`);
    });

    test('test(): every check passes with good credentials', async () => {
      const result = await h.connector.test();
      assert.ok(result.ok, JSON.stringify(result.checks));
      assert.ok(result.checks.length >= 2, 'result.checks.length >= 2');
    });

    test('wrong credentials: test() says so and writes throw AUTH (the run stops)', async (t) => {
      if (!h.badCredentials) return t.skip('the harness offers no connector with wrong credentials');
      const bad = h.badCredentials();
      try {
        const result = await bad.test();
        assert.equal(result.ok, false);
        const { ref, values } = await existingUser();
        await assert.rejects(
          bad.write({ op: 'update', ref, desired: {}, changes: [{ field: probe(), before: values[probe()], after: 'x' }], options: { createMissingGroups: false } }),
          (e: unknown) => isIdsyncError(e, 'AUTH'),
        );
        await assert.rejects(bad.findUser({ key: ref.key }), (e: unknown) => isIdsyncError(e, 'AUTH'));
      } finally {
        await bad.close?.();
      }
    });
  });
}

// ---------------------------------------------------------------- helpers

function assertAllOk(res: WriteResult): void {
  const failed = res.fields.filter((f) => !f.ok);
  assert.deepEqual(failed, [], `failed fields: ${failed.map((f) => `${f.field}: ${f.error}`).join('; ')}`);
}

function fieldResult(res: WriteResult, field: string): FieldResult {
  const r = res.fields.find((f) => f.field === field);
  assert.ok(r, `the result reports ${field} (got ${res.fields.map((f) => f.field).join(', ')})`);
  return r;
}

function accountFields(values: FieldValues): string[] {
  return Object.keys(values).filter((f) => f.startsWith('user.'));
}

/** A value about 7,000 characters over the field's limit (40,000 for Jira's 32,768). */
function oversized(f: TargetField): Json {
  const length = f.maxLength! + 7_232;
  return f.type === 'json' ? 'x'.repeat(length - 2) : 'x'.repeat(length);
}

/** A change that must fail on its own: an oversized value, else a group that does not exist. */
function failingChange(fields: TargetField[], suffix: string): UserWrite['changes'][number] | undefined {
  const limited = fields.find((f) => f.maxLength !== undefined);
  if (limited) {
    const field = limited.name.endsWith('.') ? `${limited.name}idsyncIsolation` : limited.name;
    return { field, before: null, after: oversized(limited) };
  }
  if (fields.some((f) => f.name === 'groups')) {
    const g = `grp-isolation-missing-${suffix}`;
    return { field: 'groups', before: [], after: [g], add: [g], remove: [] };
  }
  return undefined;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
