// The matching policy on its own: defaults per target, which lookups are made (and not made
// twice), and how a target's "several accounts" answer and a key from a source attribute work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstContact, matchPolicy, matchingAttributes } from './matching.ts';
import { jiraCloudCapabilities } from '../targets/jira-cloud/connector.ts';
import { jiraDcCapabilities } from '../targets/jira-dc/capabilities.ts';
import { IdsyncError } from '../core/errors.ts';
import type { MatchKeys, SourceUser, TargetUser } from '../core/types.ts';

function fakeTarget(accounts: Array<{ key: string; username?: string; email?: string }>, opts: { conflictOn?: string } = {}) {
  const calls: MatchKeys[] = [];
  return {
    calls,
    async findUser(keys: MatchKeys): Promise<TargetUser | null> {
      calls.push(keys);
      if (keys.email && keys.email === opts.conflictOn) throw new IdsyncError('CONFLICT', `2 users have the email ${keys.email}: a, b`);
      const a = accounts.find((x) => (keys.key && x.key === keys.key) || (keys.username && x.username === keys.username) || (keys.email && x.email === keys.email));
      return a ? { ref: { key: a.key, username: a.username }, values: {} } : null;
    },
  };
}

const user: SourceUser = { id: 's1', attrs: { sam: 'adev', ext: { accountId: 'K9' } } };
const noOwner = async () => undefined;

test('the default is username then e-mail; a target without usernames uses e-mail alone', () => {
  assert.deepEqual(matchPolicy(undefined, jiraDcCapabilities), { never: false, keys: [{ lookup: 'username' }, { lookup: 'email' }], unique: ['username', 'email'] });
  assert.deepEqual(matchPolicy(undefined, jiraCloudCapabilities), { never: false, keys: [{ lookup: 'email' }], unique: ['email'] });
  assert.deepEqual(matchPolicy({ by: 'never' }, jiraDcCapabilities), { never: true, keys: [], unique: ['username'] });
  assert.deepEqual(matchPolicy({ by: ['username'] }, jiraDcCapabilities).unique, ['username'], 'e-mail is held unique only when matched by');
  assert.deepEqual(matchingAttributes(matchPolicy({ by: [{ username: 'sam' }, { key: 'ext.accountId' }, { email: 'id' }] }, jiraDcCapabilities)), ['sam', 'ext']);
});

test('every key is looked up once: the same value under two keys is one request', async () => {
  const t = fakeTarget([{ key: 'K1', username: 'adev', email: 'a@x' }]);
  const r = await firstContact({ policy: matchPolicy({ by: [{ username: 'sam' }, 'username', 'email'] }, jiraDcCapabilities), connector: t, fields: [], user, mapped: { 'user.username': 'ADEV', 'user.email': 'a@x' }, ownerOf: noOwner });
  assert.equal(r.kind, 'match');
  assert.deepEqual(t.calls, [{ username: 'adev' }, { email: 'a@x' }]);
});

test('a key from a source attribute finds the account by its key', async () => {
  const t = fakeTarget([{ key: 'K9', email: 'other@x' }]);
  const r = await firstContact({ policy: matchPolicy({ by: [{ key: 'ext.accountId' }] }, jiraCloudCapabilities), connector: t, fields: [], user, mapped: {}, ownerOf: noOwner });
  assert.equal(r.kind === 'match' && r.by, 'key "K9" (from ext.accountId)');
});

test('several accounts with the e-mail is a collision, not a failure of the run', async () => {
  const t = fakeTarget([{ key: 'K1', username: 'adev' }], { conflictOn: 'a@x' });
  const r = await firstContact({ policy: matchPolicy(undefined, jiraDcCapabilities), connector: t, fields: [], user, mapped: { 'user.username': 'adev', 'user.email': 'a@x' }, ownerOf: noOwner });
  assert.equal(r.kind, 'collision');
  assert.match(r.kind === 'collision' ? r.error : '', /2 users have the email a@x: a, b; nothing was linked or changed/);
});

test('an error that is not about the accounts (the target is down) is not taken for "no match"', async () => {
  const t = { findUser: async () => { throw new IdsyncError('TRANSIENT', 'Jira is down'); } };
  await assert.rejects(firstContact({ policy: matchPolicy(undefined, jiraDcCapabilities), connector: t, fields: [], user, mapped: { 'user.username': 'adev' }, ownerOf: noOwner }), /Jira is down/);
});
