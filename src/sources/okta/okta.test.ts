// What only the Okta source has, against the Okta emulator: pacing by the rate-limit headers,
// waiting out a 429 until its reset, the status policy, checkpoints, the service app's key
// formats, the membership strategy, managers read when the listing has not met them, and a
// cancelled listing that stops asking.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { startOktaEmulator, type OktaEmulator } from '../../../emulators/okta/index.ts';
import { generateOrg } from '../../../emulators/org/index.ts';
import { isIdsyncError } from '../../core/errors.ts';
import type { SourceQuery, SourceUser } from '../../core/types.ts';
import { emulatedOktaSources } from './testing.ts';
import { lifecycleOf } from './connector.ts';
import { nextLink } from './okta-api.ts';

const org = generateOrg({ users: 90, seed: 3 });
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
process.env.IDSYNC_TEST_OKTA_KEY_PEM = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
process.env.IDSYNC_TEST_OKTA_KEY_JWK = JSON.stringify({ ...keys.privateKey.export({ format: 'jwk' }), kid: 'k1' });
const q = (over: Partial<SourceQuery> = {}): SourceQuery => ({ attributes: [], groups: false, manager: false, ...over });

let emu: OktaEmulator;
const sources = emulatedOktaSources(() => emu, 'IDSYNC_TEST_OKTA_TOKEN');

async function all(source: ReturnType<typeof sources.source>, query: SourceQuery): Promise<{ users: SourceUser[]; complete: boolean }> {
  const users: SourceUser[] = [];
  let complete = false;
  for await (const p of source.listUsers(query)) {
    users.push(...p.users);
    complete ||= p.complete === true;
  }
  return { users, complete };
}

before(async () => {
  emu = await startOktaEmulator({ org, apps: [{ clientId: '0oaunittestapp', publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: 'k1', granted: ['okta.users.read', 'okta.groups.read'] }] });
});
after(async () => {
  await sources.closeAll();
  await emu.close();
});
beforeEach(() => {
  emu.directory.replace(org);
  emu.rateLimiter.configure({ limit: 600, windowSeconds: 60 });
  emu.rateLimiter.limited = 0;
  emu.setFaults({ script: [], errorRate: 0 });
});

describe('okta source', () => {
  test('the status policy: DEPROVISIONED is deleted, SUSPENDED and STAGED inactive, the rest active', () => {
    assert.equal(lifecycleOf('DEPROVISIONED'), 'deleted');
    for (const s of ['SUSPENDED', 'STAGED']) assert.equal(lifecycleOf(s), 'inactive');
    for (const s of ['ACTIVE', 'PASSWORD_EXPIRED', 'LOCKED_OUT', 'RECOVERY', 'PROVISIONED']) assert.equal(lifecycleOf(s), 'active');
  });

  test('Link headers: separate ones, or joined by commas', () => {
    assert.equal(nextLink(['<https://x/api/v1/users?limit=2>; rel="self"', '<https://x/api/v1/users?after=00u1&limit=2>; rel="next"']), 'https://x/api/v1/users?after=00u1&limit=2');
    assert.equal(nextLink('<https://x/a>; rel="self", <https://x/b?after=1>; rel="next"'), 'https://x/b?after=1');
    assert.equal(nextLink('<https://x/a>; rel="self"'), undefined);
  });

  test('a deactivated user leaves the listing and is null from getUser; a suspended one is listed inactive', async () => {
    const [gone, paused] = [...emu.directory.users.values()].filter((u) => u.status === 'ACTIVE');
    emu.directory.setStatus(gone!.id, 'DEPROVISIONED');
    emu.directory.setStatus(paused!.id, 'SUSPENDED');
    const s = sources.source();
    const { users, complete } = await all(s, q());
    assert.ok(complete, 'the listing said complete');
    assert.equal(users.length, org.users.length - 1);
    assert.equal(users.some((u) => u.id === gone!.id), false);
    assert.equal(users.find((u) => u.id === paused!.id)?.attrs.active, false);
    assert.equal(await s.getUser(gone!.id, q()), null);
    assert.equal(await s.getUser(String(gone!.profile.login), q()), null);
  });

  test('a tight rate limit is paced by its headers: no 429, and the source waited for the resets', async () => {
    emu.rateLimiter.configure({ limit: 5, windowSeconds: 1 });
    const s = sources.source({ pageSize: 10 });
    const { users, complete } = await all(s, q());
    assert.ok(complete, 'the listing said complete');
    assert.equal(users.length, org.users.length);
    assert.equal(emu.rateLimiter.limited, 0, 'Okta never answered 429');
    assert.ok(s.pacer.waits > 0, 'the source waited for a window to reset');
  });

  test('a 429 is waited out until X-Rate-Limit-Reset, then the read goes on', async () => {
    const reset = String(Math.ceil(Date.now() / 1000) + 1);
    emu.setFaults({ script: [{ pattern: 'after=', status: 429, times: 2, headers: { 'x-rate-limit-limit': '600', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': reset } }] });
    const started = Date.now();
    const { users, complete } = await all(sources.source({ pageSize: 30 }), q());
    assert.ok(complete, 'the listing said complete');
    assert.equal(users.length, org.users.length);
    assert.ok(Date.now() - started >= 200, 'it waited before asking again');
  });

  test('checkpoints: a changed query or a garbled one is CHECKPOINT_EXPIRED; a change made right after a round is read once', async () => {
    const s = sources.source();
    let checkpoint = '';
    for await (const p of s.changes!(null, q({ attributes: ['department'] }))) checkpoint = p.checkpoint ?? checkpoint;
    const target = [...emu.directory.users.values()][4]!;
    emu.directory.updateProfile(target.id, { department: 'Changed' });
    const read = async (cp: string, query = q({ attributes: ['department'] })) => {
      const pages = [];
      for await (const p of s.changes!(cp, query)) pages.push(p);
      return pages.at(-1)!;
    };
    const round = await read(checkpoint);
    assert.deepEqual(round.users.map((u) => [u.id, u.attrs.department]), [[target.id, 'Changed']]);
    const again = await read(round.checkpoint!);
    assert.deepEqual(again.users, [], 'not twice for the same change');
    await assert.rejects(read(round.checkpoint!, q({ attributes: ['title'] })), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'));
    await assert.rejects(read('okta1.garbage'), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'));
    await assert.rejects(read('something-else'), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'));
  });

  test('a service app signs with a PEM key or with the JWK Okta generates (its kid)', async () => {
    for (const env of ['IDSYNC_TEST_OKTA_KEY_PEM', 'IDSYNC_TEST_OKTA_KEY_JWK']) {
      const s = sources.source({ apiToken: undefined, oauth: { clientId: '0oaunittestapp', privateKey: { env }, ...(env.endsWith('PEM') ? { keyId: 'k1' } : {}) } });
      const { users } = await all(s, q());
      assert.equal(users.length, org.users.length, env);
      assert.equal(s.tokens?.requests, 1, `${env}: one token for the listing`);
    }
  });

  test('memberships: auto reads per group when there are fewer groups than users; both ways give the same groups', async () => {
    // 90 users and 139 groups: per user is cheaper.
    const small = sources.source();
    await all(small, q({ groups: true }));
    assert.equal(small.lastMembershipStrategy, 'perUser', '90 users, 139 groups');
    emu.directory.replace(generateOrg({ users: 400, seed: 3 }));
    const auto = sources.source();
    const perUser = sources.source({ membershipStrategy: 'perUser' });
    const a = await all(auto, q({ groups: true }));
    const b = await all(perUser, q({ groups: true }));
    assert.equal(auto.lastMembershipStrategy, 'perGroup', '400 users (more than a page), 139 groups');
    assert.equal(perUser.lastMembershipStrategy, 'perUser');
    const groupsOf = (users: SourceUser[]) => Object.fromEntries(users.map((u) => [u.id, [...(u.groups ?? [])].sort()]));
    assert.deepEqual(groupsOf(a.users), groupsOf(b.users));
    assert.ok(a.users.every((u) => !u.groups!.includes('Everyone')), 'BUILT_IN Everyone is left out by default');
  });

  test('a manager the listing has not met yet is read once; the reference carries its attributes', async () => {
    emu.resetStats();
    const { users } = await all(sources.source({ pageSize: 200 }), q({ manager: true }));
    assert.ok(users.every((u) => !u.manager || u.manager.attrs), 'every manager reference has attributes');
    assert.equal(emu.stats.byRoute['GET /api/v1/users/:id'] ?? 0, 0, 'one page holds everyone: no manager read');
    emu.resetStats();
    const paged = await all(sources.source({ pageSize: 5 }), q({ manager: true }));
    const managers = new Set(paged.users.map((u) => u.manager && 'id' in u.manager && u.manager.id).filter(Boolean));
    const reads = Object.entries(emu.stats.byRoute).filter(([r]) => /^GET \/api\/v1\/users\/[^/]+$/.test(r)).reduce((n, [, c]) => n + c, 0);
    assert.ok(reads > 0 && reads <= managers.size, `managers read at most once each (${reads} of ${managers.size})`);
  });

  test('an aborted listing stops asking', async () => {
    const controller = new AbortController();
    emu.resetStats();
    const s = sources.source({ pageSize: 5 });
    await assert.rejects(async () => {
      for await (const _ of s.listUsers(q({ signal: controller.signal }))) controller.abort(new Error('stop'));
    });
    assert.ok(emu.stats.requests <= 3, `stopped after the first page (${emu.stats.requests} requests)`);
  });
});
