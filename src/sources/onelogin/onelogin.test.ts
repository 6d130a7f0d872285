// OneLogin source units: the status/state policy, the hourly pacer (waits at the floor with a
// notice, waits out a 429, never when the headers are absent), config validation, and a 429
// from the emulator waited out by the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isActive } from './connector.ts';
import { HourlyPacer } from './pacer.ts';
import { apiBase, oneLoginConfigSchema } from './config.ts';
import { definition, type OneLoginSource } from './index.ts';
import { DEFAULT_ONELOGIN_CREDENTIAL, startOneLoginEmulator } from '../../../emulators/onelogin/index.ts';

test('status and state: only statuses that can sign in or recover, and only Approved, are active', () => {
  for (const s of [1, 3, 4, 5, 7, 8]) assert.equal(isActive(s, 1), true, `status ${s} is active`);
  for (const s of [0, 2]) assert.equal(isActive(s, 1), false, `status ${s} is inactive`);
  for (const st of [0, 2, 3]) assert.equal(isActive(1, st), false, `state ${st} is inactive`);
  assert.equal(isActive(undefined, 1), false, 'no status is not active');
});

test('the pacer waits at the floor until the reset, and says so', async () => {
  const slept: number[] = [];
  const notices: string[] = [];
  const p = new HourlyPacer(10, async (ms) => void slept.push(ms), (m) => notices.push(m));
  await p.ready();
  assert.equal(slept.length, 0, 'no budget known: no wait');
  p.observe({ 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '11', 'x-ratelimit-reset': '30' });
  await p.ready();
  assert.equal(slept.length, 0, 'above the floor: no wait');
  p.observe({ 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '10', 'x-ratelimit-reset': '30' });
  await p.ready();
  assert.equal(slept.length, 1, 'at the floor: one wait');
  assert.ok(slept[0]! > 29_000 && slept[0]! < 31_000, `waits the reset's seconds (${slept[0]})`);
  assert.match(notices[0]!, /10 API calls left this hour of 5000, and the connector keeps at least 10: waiting 3[01] s, until/);
  await p.ready();
  assert.equal(slept.length, 1, 'after the wait the new hour is not waited for again');
  await p.tooMany({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2' });
  assert.equal(slept.length, 2, 'a 429 waits');
  assert.match(notices[1]!, /429/);
});

test('config: region host, baseUrl override, the floor is a whole number', () => {
  const base = { type: 'onelogin', clientId: 'x', clientSecret: { env: 'X' } };
  assert.equal(apiBase(oneLoginConfigSchema.parse(base)), 'https://api.us.onelogin.com');
  assert.equal(apiBase(oneLoginConfigSchema.parse({ ...base, region: 'eu' })), 'https://api.eu.onelogin.com');
  assert.equal(apiBase(oneLoginConfigSchema.parse({ ...base, baseUrl: 'https://example.onelogin.com/' })), 'https://example.onelogin.com');
  assert.equal(oneLoginConfigSchema.safeParse({ ...base, keepApiCallsPerHour: -1 }).success, false, 'a negative floor is refused');
  assert.equal(oneLoginConfigSchema.safeParse({ ...base, clientSecret: 'inline' }).success, false, 'an inline secret is refused');
});

test('a 429 from OneLogin is waited out for the reset, and the read goes on', async () => {
  const emu = await startOneLoginEmulator({ users: 30 });
  // Another integration spent the hour: the second page is answered 429 with the reset in 1 s.
  emu.setFaults({ script: [{ pattern: '^/api/2/users\\?.*cursor=', status: 429, headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' }, body: { statusCode: 429, name: 'TooManyRequests', message: 'Rate limit exceeded' }, times: 1 }] });
  process.env.IDSYNC_TEST_ONELOGIN_UNIT = DEFAULT_ONELOGIN_CREDENTIAL.clientSecret;
  const cfg = definition.configSchema.parse({ type: 'onelogin', baseUrl: emu.url, clientId: DEFAULT_ONELOGIN_CREDENTIAL.clientId, clientSecret: { env: 'IDSYNC_TEST_ONELOGIN_UNIT' }, keepApiCallsPerHour: 0, pageSize: 5 });
  const s = definition.create(cfg, { ca: emu.ca, fastRetries: true }) as OneLoginSource;
  try {
    const ids: string[] = [];
    let complete = false;
    for await (const page of s.listUsers({ attributes: [], groups: false, manager: false })) {
      ids.push(...page.users.map((u) => u.id));
      complete ||= page.complete === true;
    }
    assert.equal(ids.length, 30, 'every user read');
    assert.ok(complete, 'the read is complete');
    assert.equal(emu.stats.faultsInjected, 1, 'OneLogin answered 429 once');
    assert.ok(s.pacer.waits.some((w) => w.reason === '429'), 'the source waited for the reset');
  } finally {
    await s.close();
    await emu.close();
  }
});
