import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startConfluenceDcEmulator, type ConfluenceDcEmulator } from './index.ts';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function call(emu: ConfluenceDcEmulator, method: string, path: string, body?: unknown, auth = basic(emu.admin.username, emu.admin.password)) {
  const res = await fetch(emu.url + path, {
    method,
    headers: { authorization: auth, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

test('admin user API: create with the userName rules, 409 on a duplicate, 402 past the licence', async () => {
  const emu = await startConfluenceDcEmulator({ licenseLimit: 2 });
  try {
    const bad = await call(emu, 'POST', '/rest/api/admin/user', { userName: 'John', fullName: 'J', email: 'j@x.io', password: 'pw' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.statusCode, 400);
    assert.match(bad.body.message, /upper case/);
    assert.equal(bad.body.reason, 'Bad Request');
    assert.equal(bad.body.data.successful, false);

    const ok = await call(emu, 'POST', '/rest/api/admin/user', { userName: 'john', fullName: 'John', email: 'j@x.io', password: 'pw' });
    assert.equal(ok.status, 201);
    assert.match(ok.body.userKey, /^[0-9a-f]{32}$/);

    assert.equal((await call(emu, 'POST', '/rest/api/admin/user', { userName: 'john', fullName: 'J2', email: 'j2@x.io', password: 'pw' })).status, 409);
    // admin + john = 2 seats used
    assert.equal((await call(emu, 'POST', '/rest/api/admin/user', { userName: 'mary', fullName: 'Mary', email: 'm@x.io', notifyViaEmail: true })).status, 402);

    const byKey = await call(emu, 'GET', `/rest/api/user?key=${ok.body.userKey}&expand=status`);
    assert.equal(byKey.body.username, 'john');
    assert.equal(byKey.body.status, 'Active');
  } finally {
    await emu.close();
  }
});

test('a non-administrator gets 403 and no credentials get 401, in Confluence error shape', async () => {
  const emu = await startConfluenceDcEmulator({ seed: { users: [{ username: 'bob', password: 'bobpw' }] } });
  try {
    const forbidden = await call(emu, 'POST', '/rest/api/admin/user', { userName: 'x', fullName: 'X', email: 'x@x.io', password: 'p' }, basic('bob', 'bobpw'));
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.data.authorized, false);
    assert.equal((await call(emu, 'GET', '/rest/api/user/current', undefined, basic('bob', 'wrong'))).status, 401);
    assert.equal((await call(emu, 'GET', '/rest/api/user/current', undefined, `Bearer ${emu.admin.token}`)).body.username, 'admin');
  } finally {
    await emu.close();
  }
});

test('disable/enable are idempotent, delete is a 202 long task, groups are idempotent 204s', async () => {
  // A removal that takes a while, so "still there while it runs" holds on a slow machine too.
  const emu = await startConfluenceDcEmulator({ deletionMs: 300, seed: { users: [{ username: 'ann', fullName: 'Ann', email: 'ann@x.io' }], groups: ['dev'] } });
  try {
    for (let i = 0; i < 2; i++) assert.equal((await call(emu, 'PUT', '/rest/api/admin/user/ann/disable')).status, 204);
    assert.equal((await call(emu, 'GET', '/rest/api/user?username=ann&expand=status')).body.status, 'Deactivated');
    assert.equal((await call(emu, 'PUT', '/rest/api/admin/user/ann/enable')).status, 204);

    for (let i = 0; i < 2; i++) assert.equal((await call(emu, 'PUT', '/rest/api/user/ann/group/dev')).status, 204);
    assert.equal((await call(emu, 'PUT', '/rest/api/user/ann/group/nope')).status, 404);
    const memberOf = await call(emu, 'GET', '/rest/api/user/memberof?username=ann');
    assert.deepEqual(memberOf.body.results.map((g: any) => g.name), ['dev']);
    for (let i = 0; i < 2; i++) assert.equal((await call(emu, 'DELETE', '/rest/api/user/ann/group/dev')).status, 204);

    const del = await call(emu, 'DELETE', '/rest/api/admin/user/ann');
    assert.equal(del.status, 202);
    assert.match(del.body.links.status, /^\/rest\/api\/longtask\/\d+$/);
    // Asynchronous: the user stays until the task has run, then is gone.
    assert.equal((await call(emu, 'GET', '/rest/api/user?username=ann')).status, 200, 'still there while the task runs');
    let task = (await call(emu, 'GET', del.body.links.status)).body;
    for (let i = 0; !task.finished && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 10));
      task = (await call(emu, 'GET', del.body.links.status)).body;
    }
    assert.equal(task.finished, true);
    assert.equal(task.successful, true);
    assert.equal((await call(emu, 'GET', '/rest/api/user?username=ann')).status, 404);
  } finally {
    await emu.close();
  }
});

test('user list pages with start/limit and a relative _links.next until the end', async () => {
  const users = Array.from({ length: 7 }, (_, i) => ({ username: `u${i}`, active: i !== 3 }));
  const emu = await startConfluenceDcEmulator({ seed: { users } });
  try {
    const seen: string[] = [];
    let next: string | undefined = '/rest/api/user/list?limit=3&expand=status';
    let pages = 0;
    while (next) {
      const p = await call(emu, 'GET', next);
      pages++;
      for (const u of p.body.results) seen.push(`${u.username}:${u.status}`);
      next = p.body._links.next;
    }
    assert.equal(pages, 3);
    assert.equal(seen.length, 8); // admin + 7
    assert.ok(seen.includes('u3:Deactivated'), "seen.includes('u3:Deactivated')");
  } finally {
    await emu.close();
  }
});

test('the admin Edit User form needs a session, websudo and the XSRF token, and blank fields clear values', async () => {
  const emu = await startConfluenceDcEmulator({ seed: { users: [{ username: 'ann', fullName: 'Ann', email: 'ann@x.io', profile: { phone: '1', im: 'ann-im' } }] } });
  const post = (path: string, form: Record<string, string>, cookie?: string) =>
    fetch(emu.url + path, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) }, body: new URLSearchParams(form) });
  try {
    const noSession = await fetch(`${emu.url}/admin/users/edituser.action?username=ann`, { redirect: 'manual' });
    assert.equal(noSession.status, 302);
    assert.match(noSession.headers.get('location')!, /^\/login\.action/);

    const login = await post('/dologin.action', { os_username: 'admin', os_password: emu.admin.password });
    assert.equal(login.status, 302);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;

    const needsSudo = await fetch(`${emu.url}/admin/users/edituser.action?username=ann`, { redirect: 'manual', headers: { cookie } });
    assert.equal(needsSudo.status, 302);
    assert.match(needsSudo.headers.get('location')!, /^\/authenticate\.action/);
    assert.equal((await post('/doauthenticate.action', { password: emu.admin.password, destination: '/x' }, cookie)).status, 302);

    const formPage = await (await fetch(`${emu.url}/admin/users/edituser.action?username=ann`, { headers: { cookie } })).text();
    const token = /name="atl_token"[^>]*value="([^"]+)"/.exec(formPage)![1]!;
    assert.match(formPage, /name="userparam-im"[^>]*value="ann-im"/);

    const fields = { username: 'ann', fullName: 'Ann B', email: 'ann@x.io', 'userparam-phone': '+41 1', 'userparam-department': 'R&D' };
    const noToken = await post('/admin/users/doedituser.action', fields, cookie);
    assert.equal(noToken.status, 403);
    assert.match(await noToken.text(), /XSRF/);

    const saved = await post('/admin/users/doedituser.action', { ...fields, atl_token: token }, cookie);
    assert.equal(saved.status, 302);
    const ann = emu.store.getByName('ann')!;
    assert.equal(ann.fullName, 'Ann B');
    assert.deepEqual(ann.profile, { phone: '+41 1', department: 'R&D' }); // im was not posted: cleared
  } finally {
    await emu.close();
  }
});

test('429 from the rate limiter carries the Confluence DC headers', async () => {
  const emu = await startConfluenceDcEmulator();
  try {
    emu.setFaults({ rateLimit: { capacity: 1, perSecond: 0.001, retryAfterSeconds: 3 } });
    await call(emu, 'GET', '/rest/api/user/current');
    const limited = await call(emu, 'GET', '/rest/api/user/current');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '3');
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.ok(limited.headers.get('x-ratelimit-fillrate'), "limited.headers.get('x-ratelimit-fillrate')");
    assert.equal(limited.body.statusCode, 429);
  } finally {
    await emu.close();
  }
});
