import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter } from './login-limiter.ts';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

test('a user name failing from one address locks only that pair for the window', () => {
  const c = clock();
  const l = new LoginLimiter({ maxFailures: 3, now: c.now });
  for (let i = 0; i < 3; i++) l.fail('ann', '10.0.0.1');
  assert.ok(l.retryAfterMs('ann', '10.0.0.1') > 14 * 60_000, 'the pair waits out the window');
  assert.equal(l.retryAfterMs('bob', '10.0.0.1'), 0, 'another name from that address is not affected');
  assert.equal(l.retryAfterMs('ann', '10.0.0.2'), 0, 'the name from another address is not locked');
  c.advance(15 * 60_000);
  assert.equal(l.retryAfterMs('ann', '10.0.0.1'), 0, 'the window passed');
});

test('a user name guessed at from many addresses backs off, doubling up to a minute, and a good password clears it', () => {
  const c = clock();
  const l = new LoginLimiter({ maxFailures: 3, backoffAfter: 6, now: c.now });
  for (let i = 0; i < 6; i++) l.fail('ann', `10.0.0.${i}`);
  assert.equal(l.retryAfterMs('ann', '192.0.2.1'), 1000, 'a fresh address waits a second');
  c.advance(1000);
  assert.equal(l.retryAfterMs('ann', '192.0.2.1'), 0);
  l.fail('ann', '192.0.2.1');
  assert.equal(l.retryAfterMs('ann', '192.0.2.2'), 2000, 'the wait doubles');
  for (let i = 0; i < 20; i++) l.fail('ann', `10.1.0.${i}`);
  assert.equal(l.retryAfterMs('ann', '192.0.2.2'), 60_000, 'capped at a minute, never a long lock');
  l.succeed('ann', '192.0.2.3');
  assert.equal(l.retryAfterMs('ann', '192.0.2.2'), 0);
});

test('an address failing across many names backs off only when addresses are the clients own', () => {
  const c = clock();
  const shared = new LoginLimiter({ now: c.now });
  const own = new LoginLimiter({ now: c.now, perAddress: true });
  for (const l of [shared, own]) for (let i = 0; i < 50; i++) l.fail(`name${i}`, '10.0.0.1');
  assert.equal(shared.retryAfterMs('ann', '10.0.0.1'), 0, "a proxy's address shared by everyone does not lock anyone out");
  assert.ok(own.retryAfterMs('ann', '10.0.0.1') > 0, "a client's own address spraying names waits");
});

test('a spray of user names cannot fill memory', () => {
  const l = new LoginLimiter({ maxKeys: 100 });
  for (let i = 0; i < 1000; i++) l.fail(`name${i}`, '10.0.0.1');
  assert.ok((l as unknown as { failures: Map<string, unknown> }).failures.size <= 100, 'at most maxKeys entries are kept');
});
