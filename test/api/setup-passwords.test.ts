// First-run set-up creates exactly one administrator however many set-ups race (one server or
// two sharing the store), and passwords are judged by a strength estimator, not by length: a
// weak one is refused everywhere a password is set, with why and what to do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServer, ensureAdminFromEnv, type IdsyncServer } from '../../src/server/index.ts';
import { openPostgresStore, openSqliteStore, type TestStore } from '../helpers/stores.ts';
import { ADMIN_PASSWORD, Client, harness, STORE_KINDS, type Harness } from './helpers.ts';
import { FakeEngine, fakeServices } from './fakes.ts';

const WEAK = /too easy to guess/;

for (const kind of STORE_KINDS) describe(`first-run set-up (${kind} store)`, () => {
  let opened: TestStore;
  let servers: IdsyncServer[];
  before(async () => {
    opened = kind === 'postgres' ? await openPostgresStore() : await openSqliteStore();
    const build = () => buildServer({ store: opened.store, services: fakeServices(new FakeEngine(opened.store)), logger: false });
    servers = [await build(), await build()];
  });
  after(async () => {
    for (const s of servers ?? []) await s.close();
    await opened?.dispose();
  });

  test('of 10 concurrent set-ups on two servers sharing the store, exactly one creates an administrator', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => new Client(servers[i % 2]!.app).post('/api/v1/auth/setup', { username: `admin${i}`, password: ADMIN_PASSWORD })),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409, 409, 409, 409, 409, 409, 409, 409, 409], answers.map((a) => a.text).join('\n'));
    assert.equal(await servers[0]!.auth.countUsers(), 1, 'one user exists');
    assert.match(answers.find((a) => a.status === 409)!.body.error, /set up already; log in/);
    // IDSYNC_ADMIN_PASSWORD on an instance starting now finds the administrator there.
    assert.equal(await ensureAdminFromEnv(servers[1]!.auth, { IDSYNC_ADMIN_PASSWORD: ADMIN_PASSWORD }), undefined);
    assert.equal(await servers[0]!.auth.countUsers(), 1);
  });
});

describe('IDSYNC_ADMIN_PASSWORD', () => {
  test('instances starting together create one administrator; a weak password stops the start with why', async () => {
    const opened = await openSqliteStore();
    const server = await buildServer({ store: opened.store, services: fakeServices(new FakeEngine(opened.store)), logger: false });
    try {
      await assert.rejects(ensureAdminFromEnv(server.auth, { IDSYNC_ADMIN_PASSWORD: 'aaaaaaaaaaaa' }), /IDSYNC_ADMIN_PASSWORD is not acceptable: this password is too easy to guess \(Repeated characters/);
      const created = await Promise.all([1, 2, 3].map(() => ensureAdminFromEnv(server.auth, { IDSYNC_ADMIN_PASSWORD: ADMIN_PASSWORD })));
      assert.deepEqual(created.filter(Boolean), ['admin']);
      assert.equal(await server.auth.countUsers(), 1);
    } finally {
      await server.close();
      await opened.dispose();
    }
  });
});

describe('password strength', () => {
  let h: Harness;
  let viewerId: string;
  before(async () => {
    h = await harness();
    const vera = await h.admin.post('/api/v1/users', { username: 'vera', password: 'viewer password 1', role: 'viewer' });
    assert.equal(vera.status, 201, vera.text);
    viewerId = vera.body.user.id;
  });
  after(() => h.dispose());

  test('set-up refuses a long but guessable password with why and what to do', async () => {
    const opened = await openSqliteStore();
    const server = await buildServer({ store: opened.store, services: fakeServices(new FakeEngine(opened.store)), logger: false });
    try {
      const res = await new Client(server.app).post('/api/v1/auth/setup', { username: 'admin', password: 'aaaaaaaaaaaa' });
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.body.issues[0].path, ['password']);
      assert.match(res.body.issues[0].message, /too easy to guess \(Repeated characters like "aaa" are easy to guess\)\. .*A few unrelated words make a strong one/);
      assert.equal(await server.auth.countUsers(), 0, 'nobody was created');
    } finally {
      await server.close();
      await opened.dispose();
    }
  });

  test('adding a user, setting their password and changing your own refuse weak passwords', async () => {
    for (const weak of ['Password123!', 'qwertyuiop12', 'newbie123456']) {
      const added = await h.admin.post('/api/v1/users', { username: 'newbie', password: weak, role: 'viewer' });
      assert.equal(added.status, 400, `${weak}: ${added.text}`);
      assert.match(added.body.issues[0].message, WEAK);
    }
    const set = await h.admin.patch(`/api/v1/users/${viewerId}`, { password: 'abcabcabcabc' });
    assert.equal(set.status, 400, set.text);
    assert.deepEqual(set.body.issues[0].path, ['password']);
    const own = await h.admin.post('/api/v1/auth/password', { currentPassword: ADMIN_PASSWORD, newPassword: '1234567890' });
    assert.equal(own.status, 400, own.text);
    assert.deepEqual(own.body.issues[0].path, ['newPassword']);
    assert.match(own.body.issues[0].message, WEAK);
    assert.equal((await h.client().post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD })).status, 200, 'the password was not changed');
  });

  test('a few unrelated words are accepted', async () => {
    const added = await h.admin.post('/api/v1/users', { username: 'newbie', password: 'tulip orbit canvas', role: 'viewer' });
    assert.equal(added.status, 201, added.text);
  });
});
