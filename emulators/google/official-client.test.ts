// Fidelity check: Google's official Directory API client (@googleapis/admin, with
// google-auth-library's JWT client doing the service-account sign-in: an RS256 assertion with
// `sub`, the jwt-bearer grant) drives the emulator and must see exactly what it holds. The
// library posts to https://oauth2.googleapis.com/token; a request interceptor sends that one
// URL to the emulator, everything else about the sign-in is the library's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { admin, auth } from '@googleapis/admin';
import { startGoogleEmulator, SCOPES, type GoogleEmulator } from './index.ts';
import { generateOrg } from '../org/index.ts';

const org = generateOrg({ users: 260, seed: 5 });
let emu: GoogleEmulator;

before(async () => {
  emu = await startGoogleEmulator({ org, tls: false });
});
after(async () => {
  await emu.close();
});

function client(opts: { subject?: string; scopes?: string[]; key?: string } = {}) {
  const key = emu.keyFile();
  const jwt = new auth.JWT({ email: key.client_email, key: opts.key ?? key.private_key, subject: opts.subject ?? emu.admin, scopes: opts.scopes ?? [SCOPES.users, SCOPES.groups] });
  jwt.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (String(config.url) === 'https://oauth2.googleapis.com/token') config.url = new URL(`${emu.url}/token`); // gaxios keeps URL objects
      return config;
    },
  });
  return admin({ version: 'directory_v1', auth: jwt, rootUrl: emu.rootUrl });
}

test('users.list pages through every user with maxResults and pageToken', async () => {
  const directory = client();
  const seen: string[] = [];
  const emails: string[] = [];
  let pageToken: string | undefined;
  let pages = 0;
  do {
    const res = await directory.users.list({ customer: 'my_customer', maxResults: 100, pageToken, projection: 'full' });
    assert.equal(res.data.kind, 'admin#directory#users');
    for (const u of res.data.users ?? []) {
      seen.push(u.id!);
      emails.push(u.primaryEmail!);
    }
    pageToken = res.data.nextPageToken ?? undefined;
    pages++;
  } while (pageToken);
  const expected = emu.directory.users.map((u) => u.id);
  assert.deepEqual(seen, expected, 'every user once, in order');
  assert.equal(pages, Math.ceil(expected.length / 100));
  const guests = org.users.filter((u) => u.userType === 'Guest');
  assert.ok(guests.length > 0, 'the sample has guests');
  assert.ok(!guests.some((g) => emails.includes(g.userPrincipalName.toLowerCase())), 'no guest accounts in Workspace');
});

test('ids are shaped like Google\'s: users 21 digits, groups 15 letters and digits; members and users.get use them', async () => {
  const directory = client();
  const users = (await directory.users.list({ customer: 'my_customer', maxResults: 500 })).data.users ?? [];
  assert.ok(users.length > 0 && users.every((u) => /^1\d{20}$/.test(u.id!)), `user ids are 21-digit numbers: ${users[0]?.id}`);
  assert.ok(users.some((u) => !Number.isSafeInteger(Number(u.id))), 'beyond a double\'s precision, so they must stay strings');
  assert.equal(new Set(users.map((u) => u.id)).size, users.length, 'unique');
  const groups = (await directory.groups.list({ customer: 'my_customer', maxResults: 200 })).data.groups ?? [];
  assert.ok(groups.length > 0 && groups.every((g) => /^0\d[0-9a-z]{13}$/.test(g.id!)), `group ids look like Google's (01qoc8b13vgdlqb): ${groups[0]?.id}`);
  const g = groups.find((x) => emu.directory.groups.find((d) => d.id === x.id)!.members.some((m) => /^\d+$/.test(m)))!;
  const members = (await directory.members.list({ groupKey: g.id!, maxResults: 200 })).data.members ?? [];
  const userIds = new Set(users.map((u) => u.id));
  const groupIds = new Set(groups.map((x) => x.id));
  assert.ok(members.length > 0 && members.every((m) => (m.type === 'USER' ? userIds.has(m.id) : groupIds.has(m.id))), 'members name users and groups by those ids');
  const byId = await directory.users.get({ userKey: users[3]!.id! });
  assert.equal(byId.data.primaryEmail, users[3]!.primaryEmail, 'users.get takes the numeric id');
  await assert.rejects(directory.users.get({ userKey: '100000000000000000000' }), (e: { status?: number }) => e.status === 404, 'an unknown numeric id is 404');
  const again = await startGoogleEmulator({ org, tls: false });
  try {
    assert.deepEqual(again.directory.users.map((u) => u.id), emu.directory.users.map((u) => u.id), 'the same sample gives the same ids');
  } finally {
    await again.close();
  }
});

test('users.get by id and by primary e-mail; relations, organizations and custom schemas by projection', async () => {
  const directory = client();
  const u = emu.directory.users.find((x) => x.relations && x.customSchemas && x.organizations)!;
  const byId = await directory.users.get({ userKey: u.id, projection: 'full' });
  assert.equal(byId.data.primaryEmail, u.primaryEmail);
  assert.deepEqual(byId.data.relations, u.relations);
  assert.deepEqual(byId.data.organizations, u.organizations);
  assert.deepEqual(byId.data.customSchemas, u.customSchemas);
  const basic = await directory.users.get({ userKey: u.primaryEmail });
  assert.equal(basic.data.id, u.id);
  assert.equal(basic.data.customSchemas, undefined, 'projection basic leaves custom schemas out');
  const custom = await directory.users.get({ userKey: u.id, projection: 'custom', customFieldMask: 'Employment' });
  assert.deepEqual(custom.data.customSchemas, u.customSchemas);
  await assert.rejects(directory.users.get({ userKey: 'nobody@example.com' }), (e: { status?: number; message?: string; errors?: Array<{ reason: string }> }) => {
    assert.equal(e.status, 404);
    assert.match(String(e.message), /Resource Not Found: userKey/);
    return true;
  });
});

test('the documented query syntax: suspended users, a name prefix', async () => {
  const directory = client();
  const suspended = await directory.users.list({ customer: 'my_customer', query: 'isSuspended=true', maxResults: 500 });
  assert.deepEqual((suspended.data.users ?? []).map((u) => u.id), emu.directory.users.filter((u) => u.suspended).map((u) => u.id));
  const target = emu.directory.users.find((u) => /^[A-Za-z]{3}/.test(u.name.givenName))!;
  const prefix = target.name.givenName.slice(0, 3);
  const found = await directory.users.list({ customer: 'my_customer', query: `givenName:'${prefix}*'` });
  assert.ok((found.data.users ?? []).some((u) => u.id === target.id), `${target.id} found by givenName:'${prefix}*'`);
  await assert.rejects(directory.users.list({ customer: 'my_customer', query: 'noSuchField=1' }), (e: { status?: number }) => e.status === 400);
  await assert.rejects(directory.users.list({ customer: 'my_customer', maxResults: 501 }), (e: { status?: number }) => e.status === 400);
});

test('groups.list (all, and by userKey) and members.list', async () => {
  const directory = client();
  const all = await directory.groups.list({ customer: 'my_customer' });
  assert.deepEqual((all.data.groups ?? []).map((g) => g.name).sort(), emu.directory.groups.map((g) => g.name).sort());
  const g = emu.directory.groups.find((x) => x.members.length > 3)!;
  const members = await directory.members.list({ groupKey: g.id, maxResults: 2 });
  assert.equal(members.data.members?.length, 2);
  assert.ok(members.data.nextPageToken, 'members page on');
  const member = emu.directory.user(g.members.find((m) => emu.directory.user(m))!)!;
  const mine = await directory.groups.list({ userKey: member.primaryEmail });
  assert.ok((mine.data.groups ?? []).some((x) => x.id === g.id), 'the member sees the group among its groups');
});

test('sign-in refusals come back through the library: wrong key, unknown subject, scope not delegated', async () => {
  const other = (await import('./auth.ts')).newServiceAccount('someone-else').privateKey;
  await assert.rejects(client({ key: other }).users.list({ customer: 'my_customer' }), /invalid_grant|Invalid JWT Signature/);
  await assert.rejects(client({ subject: 'nobody@example.com' }).users.list({ customer: 'my_customer' }), /Invalid email or User ID|invalid_grant/);
  await assert.rejects(client({ scopes: ['https://www.googleapis.com/auth/admin.directory.user'] }).users.list({ customer: 'my_customer' }), /unauthorized_client/);
  // A non-administrator subject signs in, but the Directory API refuses it.
  const plain = emu.directory.users.find((u) => !u.isAdmin)!;
  await assert.rejects(client({ subject: plain.primaryEmail }).users.list({ customer: 'my_customer' }), (e: { status?: number }) => e.status === 403);
});

test('quota errors reach the client as Google shapes them', async () => {
  emu.setQuota({ capacity: 1, perSecond: 0.001, answer: 'userRateLimitExceeded' });
  try {
    const directory = client();
    await directory.users.list({ customer: 'my_customer', maxResults: 1 });
    await assert.rejects(directory.users.list({ customer: 'my_customer', maxResults: 1 }, { retry: false }), (e: { status?: number; response?: { data?: { error?: { errors?: Array<{ reason?: string }> } } } }) => {
      assert.equal(e.status, 403);
      assert.equal(e.response?.data?.error?.errors?.[0]?.reason, 'userRateLimitExceeded');
      return true;
    });
  } finally {
    emu.setQuota(undefined);
  }
});

test('partial responses: fields selects what comes back; a bad selection is refused', async () => {
  const directory = client();
  const res = await directory.users.list({ customer: 'my_customer', maxResults: 3, fields: 'nextPageToken,users(id,name/fullName,relations)' });
  assert.ok(res.data.nextPageToken, 'a first page has a next page token');
  for (const u of res.data.users ?? []) {
    const src = emu.directory.user(u.id!)!;
    assert.deepEqual(Object.keys(u).sort(), ['id', 'name', ...(src.relations ? ['relations'] : [])].sort());
    assert.deepEqual(u.name, { fullName: src.name.fullName });
  }
  await assert.rejects(directory.users.list({ customer: 'my_customer', fields: 'users(id' }), (e: { status?: number }) => e.status === 400);
});
