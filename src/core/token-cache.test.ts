import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenCache } from './token-cache.ts';

test('callers asking at once share one token request; the token is reused until near its expiry or a 401', async () => {
  let issued = 0;
  let lifetime: unknown = 3600;
  const cache = new TokenCache(async () => {
    issued++;
    await new Promise((r) => setTimeout(r, 5));
    return { token: `t${issued}`, expiresIn: lifetime, fallbackS: 3599 };
  });
  const first = await Promise.all([cache.get(), cache.get(), cache.get()]);
  assert.deepEqual(first, ['t1', 't1', 't1'], 'three concurrent callers got the one token');
  assert.equal(await cache.get(), 't1', 'a valid token is served from the cache');
  assert.equal(issued, 1, 'one request for all of them');
  cache.invalidate();
  assert.equal(await cache.get(), 't2', 'after invalidate (a 401) a new token is fetched');
  // A token valid for less than the five-minute margin is renewed at the next call.
  lifetime = 200;
  cache.invalidate();
  assert.equal(await cache.get(), 't3', 'a short-lived token is fetched');
  assert.equal(await cache.get(), 't4', 'and renewed at once, being inside the renewal margin');
  // No usable expires_in: the fallback lifetime applies, so the token is cached.
  lifetime = 'soon';
  cache.invalidate();
  assert.equal(await cache.get(), 't5', 'a token without a usable lifetime is fetched');
  assert.equal(await cache.get(), 't5', 'and cached for the fallback lifetime');
});

test('a failed token request is not cached: the next call asks again', async () => {
  let calls = 0;
  const cache = new TokenCache(async () => {
    calls++;
    if (calls === 1) throw new Error('sign-in refused');
    return { token: 'ok', expiresIn: 3600, fallbackS: 3600 };
  });
  await assert.rejects(cache.get(), /sign-in refused/, 'the failure reaches the caller');
  assert.equal(await cache.get(), 'ok', 'the next call asks again and gets a token');
  assert.equal(calls, 2, 'two requests in all');
});

test('a source with short-lived tokens declares a smaller renewal margin: a 5-minute token is reused', async () => {
  let issued = 0;
  const issue = async () => ({ token: `t${++issued}`, expiresIn: 300, fallbackS: 300 });
  const shortMargin = new TokenCache(issue, { renewBeforeMs: 30_000 });
  assert.equal(await shortMargin.get(), 't1');
  assert.equal(await shortMargin.get(), 't1', 'a 300 s token is 270 s from its renewal: served from the cache');
  const defaultMargin = new TokenCache(issue);
  assert.equal(await defaultMargin.get(), 't2');
  assert.equal(await defaultMargin.get(), 't3', 'with the five-minute default the same token would be fetched at every call');
});
