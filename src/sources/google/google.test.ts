// What only the Google source does, against the Google emulator: custom schemas asked by
// projection as the mapping names them, a persistent quota refusal ending as RATE_LIMITED (not
// AUTH), groups asked while readGroups is off refused as a setting, search values quoted, and
// a key that is not a service account key refused without being quoted.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGoogleEmulator, type GoogleEmulator } from '../../../emulators/google/index.ts';
import { isIdsyncError } from '../../core/errors.ts';
import type { RecordedRequest } from '../../core/http.ts';
import { emulatedGoogleSources } from './testing.ts';

let emu: GoogleEmulator;
const sources = emulatedGoogleSources(() => emu, 'IDSYNC_TEST_GOOGLE_UNIT_KEY');
const urls: string[] = [];
const record = (r: RecordedRequest) => void (r.url.includes('/admin/directory/v1/users') && urls.push(decodeURIComponent(r.url)));

before(async () => {
  emu = await startGoogleEmulator({ users: 40, seed: 9 });
});
after(async () => {
  await sources.closeAll();
  await emu.close();
});
beforeEach(() => {
  urls.length = 0;
  emu.setQuota(undefined);
});

async function listAll(s: ReturnType<typeof sources.source>, attributes: string[]) {
  const users = [];
  for await (const p of s.listUsers({ attributes, groups: false, manager: false })) users.push(...p.users);
  return users;
}

test('custom schemas: basic projection unless the mapping names one; then projection=custom with that schema only', async () => {
  const plain = await listAll(sources.source({}, record), ['department']);
  assert.ok(urls.every((u) => u.includes('projection=basic')), 'basic without custom schemas');
  assert.ok(plain.every((u) => u.attrs.customSchemas === undefined), 'no custom schemas without asking');
  urls.length = 0;
  const custom = await listAll(sources.source({}, record), ['customSchemas.Employment.division']);
  assert.ok(urls.some((u) => u.includes('projection=custom') && u.includes('customFieldMask=Employment')), urls.join('\n'));
  const withDivision = custom.filter((u) => (u.attrs.customSchemas as Record<string, Record<string, unknown>> | undefined)?.Employment?.division);
  assert.ok(withDivision.length > 0, 'the custom schema came through');
  for (const u of custom) {
    const inEmulator = emu.directory.user(u.id)!;
    assert.deepEqual(u.attrs.customSchemas, inEmulator.customSchemas, `custom schemas of ${u.id}`);
  }
});

test('a quota refusal that never ends fails as RATE_LIMITED with what to do, after backing off', async () => {
  emu.setQuota({ capacity: 0, perSecond: 0.0001, answer: 'userRateLimitExceeded' });
  const s = sources.source();
  await assert.rejects(listAll(s, []), (e: unknown) => {
    assert.ok(isIdsyncError(e, 'RATE_LIMITED'), `RATE_LIMITED, not ${String(e)}`);
    assert.match((e as Error & { hint?: string }).hint ?? '', /quota/);
    return true;
  });
  assert.ok(s.quota.backoffs >= 8, `backed off before giving up (${s.quota.backoffs})`);
});

test('groups asked while readGroups is off: a setting to change, not an empty membership', async () => {
  const s = sources.source({ readGroups: false });
  await assert.rejects(async () => {
    for await (const _ of s.listUsers({ attributes: [], groups: true, manager: false }));
  }, (e: unknown) => isIdsyncError(e, 'CONFIG') && /readGroups/.test((e as Error).message));
});

test("search values are quoted for Google's syntax: a quote in the text is no syntax error", async () => {
  const hits = await sources.source().searchUsers("o'br", 10);
  const expected = emu.directory.users.filter((u) => [u.name.givenName, u.name.familyName].some((n) => n.toLowerCase().startsWith("o'br")));
  assert.deepEqual(hits.map((h) => h.id).sort(), expected.map((u) => u.id).sort());
});

test('a key that is not a service account JSON key is a CONFIG problem that never quotes it', async () => {
  process.env.IDSYNC_TEST_GOOGLE_NOT_A_KEY = JSON.stringify({ type: 'authorized_user', client_secret: 'oauth-client-secret-4711' });
  const s = sources.source({ serviceAccountKey: { env: 'IDSYNC_TEST_GOOGLE_NOT_A_KEY' } });
  const r = await s.test();
  assert.equal(r.ok, false);
  const check = r.checks.find((c) => c.name === 'service account key')!;
  assert.match(check.message, /not a service account JSON key/);
  assert.ok(!JSON.stringify(r).includes('oauth-client-secret-4711'), 'the secret is not quoted');
});
