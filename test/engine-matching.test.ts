// First contact and renames against the Jira DC emulator: each match order, "never", collisions
// (reported with both accounts named, nothing written or linked), renames through the link, and
// the simulation that shows how each user would be matched. The source is the in-memory one.
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDataset, person } from './helpers/memory-source.ts';
import { openSqliteStore, type TestStore } from './helpers/stores.ts';
import { startJiraDcEmulator, type JiraDcEmulator, type SeedUser } from '../emulators/jira-dc/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';
import type { MatchingConfig } from '../src/config/matching.ts';
import type { MappingRule } from '../src/core/types.ts';
import type { RunItem } from '../src/store/runs.ts';
import { validateConnector } from '../src/config/validate.ts';
import { printItems } from '../src/cli/output.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

const rules: MappingRule[] = [
  { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
];

const ADA = '00000000-0000-0000-0000-00000000a0a0';
const BOB = '00000000-0000-0000-0000-00000000b0b0';

function connector(url: string, matching?: MatchingConfig, extra: Record<string, unknown> = {}): ConnectorConfig {
  return {
    id: 'match',
    source: { type: 'memory', dataset: 'match', requiredGroups: [] },
    targets: [{ id: 'jira', type: 'jira-dc', url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } }, mapping: rules, createUsers: true, createMissingGroups: false, concurrency: 2, ...(matching ? { matching } : {}), ...extra }],
  };
}

describe('first contact and renames (Jira DC)', () => {
  let jira: JiraDcEmulator;
  let t: TestStore;
  let engine: SyncEngine;

  before(async () => {
    jira = await startJiraDcEmulator();
  });
  after(async () => {
    await jira.close();
    await t?.dispose();
  });
  beforeEach(async () => {
    await fetch(`${jira.url}/_emulator/reset`, { method: 'POST' });
    if (t) await t.dispose();
    t = await openSqliteStore();
    engine = new SyncEngine(t.store, { fastRetries: true });
  });

  const seed = (...users: SeedUser[]) => users.map((u) => jira.store.createUser(u).key);
  const userCount = () => [...jira.store.allUsers()].length;
  const sync = (matching?: MatchingConfig, opts: { dryRun?: boolean; extra?: Record<string, unknown> } = {}) =>
    engine.run({ connector: connector(jira.url, matching, opts.extra), kind: 'full', trigger: 'cli', dryRun: opts.dryRun });
  const itemOf = async (runId: string, sourceId: string): Promise<RunItem> => {
    const item = (await t.store.runs.items(runId, { limit: 100 })).items.find((i) => i.sourceId === sourceId);
    assert.ok(item, `the run has an item for ${sourceId}`);
    return item;
  };
  const linkOf = (sourceId: string) => t.store.links.get('match', 'jira', sourceId);
  const ada = (extra: Record<string, unknown> = {}) => person(ADA, 'Ada Dev', { onPremisesSamAccountName: 'adev', ...extra });

  test('default order: username first; the account is linked, not duplicated', async () => {
    const [key] = seed({ name: 'ada.dev', displayName: 'Old Name', emailAddress: 'ada.dev@contoso.com' });
    memoryDataset('match', [ada()]);
    const before = userCount();
    const r = await sync();
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.updated, 1);
    assert.equal(userCount(), before, 'no second account');
    const item = await itemOf(r.run.id, ADA);
    assert.equal(item.details?.matched, 'username');
    assert.equal(item.details?.match, `linked to ada.dev (key ${key}) by username "ada.dev"`);
    assert.equal((await linkOf(ADA))?.targetKey, key);
    assert.equal(jira.inspect(key!)!.displayName, 'Ada Dev');
  });

  test('order [email]: an account under another username is found by e-mail, linked, and renamed keeping its key', async () => {
    const [key] = seed({ name: 'adevelop', displayName: 'Ada', emailAddress: 'ADA.DEV@contoso.com' });
    memoryDataset('match', [ada()]);
    const r = await sync({ by: ['email'] });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    const item = await itemOf(r.run.id, ADA);
    assert.equal(item.details?.matched, 'email');
    assert.match(String(item.details?.match), new RegExp(`^linked to adevelop \\(key ${key}\\) by email "ada.dev@contoso.com"$`));
    assert.equal(jira.inspect(key!)!.name, 'ada.dev', 'the username follows the provider');
    assert.equal((await linkOf(ADA))?.targetKey, key);
    assert.equal((await linkOf(ADA))?.targetUsername, 'ada.dev');
  });

  test('order [username] does not look at e-mail: an account with only the same e-mail is left alone and a new one created', async () => {
    const [other] = seed({ name: 'adevelop', displayName: 'Ada', emailAddress: 'ada.dev@contoso.com' });
    memoryDataset('match', [ada()]);
    const r = await sync({ by: ['username'] });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, 1);
    const link = await linkOf(ADA);
    assert.notEqual(link?.targetKey, other, 'not linked to the e-mail match');
    assert.equal(jira.inspect(other!)!.name, 'adevelop', 'the other account is untouched');
    assert.match(String((await itemOf(r.run.id, ADA)).details?.match), /^created: no account has username "ada.dev"$/);
  });

  test('a source attribute as username: the old account name finds the account, which is renamed to the mapped username', async () => {
    const [key] = seed({ name: 'adev', displayName: 'Ada', emailAddress: 'ada@old.example' });
    memoryDataset('match', [ada()]);
    const r = await sync({ by: [{ username: 'onPremisesSamAccountName' }, 'username'] });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    const item = await itemOf(r.run.id, ADA);
    assert.equal(item.details?.match, `linked to adev (key ${key}) by username "adev" (from onPremisesSamAccountName)`);
    const u = jira.inspect(key!)!;
    assert.equal(u.name, 'ada.dev');
    assert.equal(u.emailAddress, 'ada.dev@contoso.com');
  });

  test('never: an account with the same e-mail is not linked, a new one is created', async () => {
    const [old] = seed({ name: 'adevelop', displayName: 'Ada', emailAddress: 'ada.dev@contoso.com' });
    memoryDataset('match', [ada()]);
    const r = await sync({ by: 'never' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, 1);
    assert.notEqual((await linkOf(ADA))?.targetKey, old);
    assert.equal(jira.inspect('ada.dev')!.emailAddress, 'ada.dev@contoso.com');
    assert.equal(jira.inspect(old!)!.name, 'adevelop');
  });

  test('never: an account that holds the username is reported by name and key; nothing is created, linked or changed', async () => {
    const [key] = seed({ name: 'ada.dev', displayName: 'Someone Else', emailAddress: 'someone@example.com' });
    memoryDataset('match', [ada()]);
    const before = userCount();
    const r = await sync({ by: 'never' });
    assert.equal(r.run.counts.failed, 1);
    const item = await itemOf(r.run.id, ADA);
    assert.equal(item.operation, 'failed');
    assert.match(item.error ?? '', new RegExp(`username "ada.dev" belongs to ada.dev \\(key ${key}\\), and matching is set to never link`));
    assert.equal(userCount(), before);
    assert.equal(jira.inspect(key!)!.displayName, 'Someone Else');
    assert.equal(await linkOf(ADA), undefined);
  });

  test('an account that takes the username between planning and the create is not adopted under never, nor when linked to another user', async () => {
    // The race: planning finds no "ada.dev"; the account appears before idsync's POST, which Jira
    // refuses ("username exists"). The target may adopt an account then only if the matching
    // policy allows it (UserWrite.options.mayAdopt).
    const race = (rival: () => void) => {
      const original = jira.store.getByName.bind(jira.store);
      let calls = 0;
      let planned = 0;
      return {
        count() {
          jira.store.getByName = (n: string) => (n === 'ada.dev' && planned++, original(n));
        },
        arm() {
          jira.store.getByName = (n: string) => {
            if (n === 'ada.dev' && ++calls === planned + 1) rival(); // the POST's own check: after planning
            return original(n);
          };
        },
        restore: () => void (jira.store.getByName = original),
      };
    };
    memoryDataset('match', [ada()]);
    let rivalKey = '';
    const r1 = race(() => void ([rivalKey] = seed({ name: 'ada.dev', displayName: 'Someone Else', emailAddress: 'someone@example.com' })));
    try {
      r1.count();
      await sync({ by: 'never' }, { dryRun: true }); // how often planning looks the username up
      r1.arm();
      const r = await sync({ by: 'never' });
      const item = await itemOf(r.run.id, ADA);
      assert.equal(item.operation, 'failed', 'not adopted under never');
      assert.match(item.error ?? '', /not adopted: matching is set to never link an existing account/);
      assert.equal(jira.inspect(rivalKey)!.displayName, 'Someone Else', 'the rival account is untouched');
      assert.equal(await linkOf(ADA), undefined, 'nothing linked');
    } finally {
      r1.restore();
    }

    // Bob's linked account is renamed to "ada.dev" in Jira in the same gap: not Ada's to adopt.
    // A fresh start (Ada's failed row would be carried into the next run).
    await fetch(`${jira.url}/_emulator/reset`, { method: 'POST' });
    await t.dispose();
    t = await openSqliteStore();
    engine = new SyncEngine(t.store, { fastRetries: true });
    memoryDataset('match', [person(BOB, 'Bob Builder')]);
    assert.equal((await sync()).run.counts.created, 1);
    const bobKey = (await linkOf(BOB))!.targetKey;
    memoryDataset('match', [person(BOB, 'Bob Builder'), ada()]);
    const r2 = race(() => void jira.store.updateUser(bobKey, { name: 'ada.dev' }));
    try {
      r2.count();
      await sync(undefined, { dryRun: true });
      r2.arm();
      const r = await sync();
      const item = await itemOf(r.run.id, ADA);
      assert.equal(item.operation, 'failed', 'an account linked to Bob is not adopted for Ada');
      assert.match(item.error ?? '', new RegExp(`collision: ada.dev \\(key ${bobKey}\\) is already linked to another source user \\(Bob Builder`));
      assert.equal(jira.inspect(bobKey)!.displayName, 'Bob Builder', "Bob's account is untouched");
      assert.equal(await linkOf(ADA), undefined, 'nothing linked to Ada');
    } finally {
      r2.restore();
    }
  });

  test('username finds one account and e-mail another: a collision naming both, nothing written or linked', async () => {
    const [byName, byMail] = seed(
      { name: 'ada.dev', displayName: 'Ada Name', emailAddress: 'ada@old.example' },
      { name: 'adevelop', displayName: 'Ada Mail', emailAddress: 'ada.dev@contoso.com' },
    );
    memoryDataset('match', [ada()]);
    jira.resetStats();
    const r = await sync();
    assert.equal(r.run.counts.failed, 1);
    const item = await itemOf(r.run.id, ADA);
    assert.match(item.error ?? '', new RegExp(`ada.dev \\(key ${byName}\\) by username "ada.dev" and adevelop \\(key ${byMail}\\) by email "ada.dev@contoso.com" are different accounts`));
    assert.deepEqual(
      (item.details?.collision as Array<{ key: string }>).map((a) => a.key).sort(),
      [byName, byMail].sort(),
      'the run item lists both accounts',
    );
    assert.equal(jira.stats.writes, 0, 'no write reached Jira');
    assert.equal(jira.inspect(byName!)!.displayName, 'Ada Name');
    assert.equal(jira.inspect(byMail!)!.displayName, 'Ada Mail');
    assert.equal(await linkOf(ADA), undefined);
  });

  test('an account already linked to another source user is never taken over', async () => {
    // Bob is linked first; then Ada, whose e-mail is (wrongly) Bob's, arrives.
    memoryDataset('match', [person(BOB, 'Bob Builder')]);
    assert.equal((await sync()).run.counts.created, 1);
    const bobKey = (await linkOf(BOB))!.targetKey;
    memoryDataset('match', [person(BOB, 'Bob Builder'), ada({ mail: 'bob.builder@contoso.com' })]);
    const r = await sync({ by: ['email'] });
    const item = await itemOf(r.run.id, ADA);
    assert.equal(item.operation, 'failed');
    assert.match(item.error ?? '', new RegExp(`bob.builder \\(key ${bobKey}\\), found by email "bob.builder@contoso.com", is already linked to another source user \\(Bob Builder`));
    assert.equal(await linkOf(ADA), undefined);
    assert.equal((await linkOf(BOB))?.targetKey, bobKey);
    assert.equal(jira.inspect(bobKey)!.displayName, 'Bob Builder');
  });

  test('a UPN and mail rename updates the linked account: same user key, new username and e-mail, no second account', async () => {
    memoryDataset('match', [ada()]);
    assert.equal((await sync()).run.counts.created, 1);
    const key = (await linkOf(ADA))!.targetKey;
    const count = userCount();
    const ds = memoryDataset('match', [ada()]);
    ds.edit(ADA, { userPrincipalName: 'ada.lovelace@contoso.com', mail: 'ada.lovelace@contoso.com', displayName: 'Ada Lovelace' });
    const r = await sync();
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.updated, 1);
    assert.equal(userCount(), count, 'no second account');
    const u = jira.inspect(key)!;
    assert.equal(u.name, 'ada.lovelace');
    assert.equal(u.emailAddress, 'ada.lovelace@contoso.com');
    assert.equal(u.displayName, 'Ada Lovelace');
    assert.equal(jira.inspect('ada.dev'), undefined, 'the old username is gone');
    const link = (await linkOf(ADA))!;
    assert.equal(link.targetKey, key);
    assert.equal(link.targetUsername, 'ada.lovelace');
  });

  test('a rename to a username another account holds is reported naming both; nothing is overwritten', async () => {
    memoryDataset('match', [ada()]);
    await sync();
    const key = (await linkOf(ADA))!.targetKey;
    const [other] = seed({ name: 'ada.lovelace', displayName: 'The Other Ada', emailAddress: 'other@example.com' });
    const ds = memoryDataset('match', [ada()]);
    ds.edit(ADA, { userPrincipalName: 'ada.lovelace@contoso.com', displayName: 'Ada Lovelace' });
    jira.resetStats();
    const r = await sync();
    const item = await itemOf(r.run.id, ADA);
    assert.equal(item.operation, 'failed');
    assert.match(item.error ?? '', new RegExp(`ada.dev \\(key ${key}\\) is to get the username "ada.lovelace", but ada.lovelace \\(key ${other}\\) already has it`));
    assert.equal(jira.stats.writes, 0, 'not even the display name was sent');
    assert.equal(jira.inspect(key)!.name, 'ada.dev');
    assert.equal(jira.inspect(other!)!.displayName, 'The Other Ada');
    assert.equal((await linkOf(ADA))!.targetUsername, 'ada.dev');
  });

  test('a simulation shows how each user would be matched and links and writes nothing', async () => {
    const [adaKey] = seed({ name: 'adevelop', displayName: 'Ada', emailAddress: 'ada.dev@contoso.com' });
    const [x, y] = seed({ name: 'bob.builder', emailAddress: 'bob@one.example' }, { name: 'bob2', emailAddress: 'bob.builder@contoso.com' });
    const carl = person('00000000-0000-0000-0000-00000000c0c0', 'Carl Coder');
    memoryDataset('match', [ada(), person(BOB, 'Bob Builder'), carl]);
    jira.resetStats();
    const count = userCount();
    const r = await sync(undefined, { dryRun: true });
    assert.equal(r.run.dryRun, true);
    assert.equal(jira.stats.writes, 0);
    assert.equal(userCount(), count);
    assert.equal(await t.store.links.count('match'), 0, 'a simulation links nobody');
    assert.equal((await itemOf(r.run.id, ADA)).details?.match, `would link to adevelop (key ${adaKey}) by email "ada.dev@contoso.com"`);
    assert.equal((await itemOf(r.run.id, carl.id)).details?.match, 'would create: no account has username "carl.coder" or email "carl.coder@contoso.com"');
    const bob = await itemOf(r.run.id, BOB);
    assert.equal(bob.operation, 'failed');
    assert.match(bob.error ?? '', new RegExp(`bob.builder \\(key ${x}\\).*bob2 \\(key ${y}\\)`));

    // The CLI prints the same line under the user; a collision shows its error instead.
    const lines: string[] = [];
    printItems((await t.store.runs.items(r.run.id, { limit: 100 })).items, (l) => lines.push(l));
    const adaAt = lines.findIndex((l) => l.includes('Ada Dev'));
    assert.equal(lines[adaAt + 1]?.trim(), `would link to adevelop (key ${adaKey}) by email "ada.dev@contoso.com"`, lines.join('\n'));

    // The real run then does what the simulation said.
    const real = await sync();
    assert.equal((await linkOf(ADA))?.targetKey, adaKey);
    assert.equal((await itemOf(real.run.id, ADA)).details?.match, `linked to adevelop (key ${adaKey}) by email "ada.dev@contoso.com"`);
  });

  test('single-user sync reports the match in words', async () => {
    const [key] = seed({ name: 'adevelop', displayName: 'Ada', emailAddress: 'ada.dev@contoso.com' });
    memoryDataset('match', [ada()]);
    const r = await engine.run({ connector: connector(jira.url), kind: 'user', userRef: ADA, trigger: 'cli', dryRun: true });
    const target = r.user?.targets.find((x) => x.targetId === 'jira');
    assert.equal(target?.matched, 'email');
    assert.equal(target?.match, `would link to adevelop (key ${key}) by email "ada.dev@contoso.com"`);
  });

  test('never, against a Jira that holds e-mails unique: the refused create names the account that has the e-mail', async () => {
    const strict = await startJiraDcEmulator({ uniqueEmails: true });
    try {
      const holder = strict.store.createUser({ name: 'adevelop', displayName: 'Ada', emailAddress: 'ada.dev@contoso.com' });
      memoryDataset('match', [ada()]);
      const r = await engine.run({ connector: connector(strict.url, { by: 'never' }), kind: 'full', trigger: 'cli' });
      const item = await itemOf(r.run.id, ADA);
      assert.equal(item.operation, 'failed');
      assert.match(item.error ?? '', /already exists/, 'the target\'s own refusal is kept');
      assert.match(item.error ?? '', new RegExp(`the email "ada.dev@contoso.com" belongs to adevelop \\(key ${holder.key}\\)`));
      assert.equal(strict.inspect('ada.dev'), undefined, 'nothing was created');
      assert.equal(strict.inspect(holder.key)!.displayName, 'Ada');
    } finally {
      await strict.close();
    }
  });

  test('validation refuses what a target cannot look up and a policy that can sync nobody', async () => {
    const cloud = {
      id: 'c',
      source: { type: 'memory', dataset: 'match' },
      targets: [{ id: 'jc', type: 'jira-cloud', url: 'https://x.atlassian.net', auth: { type: 'basic', email: 'a@b.c', token: { env: 'X' } }, createUsers: false, matching: { by: ['username', { email: 'mail' }] } }],
    };
    const { issues } = await validateConnector(cloud);
    const m = issues.filter((i) => i.path.startsWith('targets[0].matching'));
    assert.deepEqual(m.map((i) => [i.path, i.severity]), [['targets[0].matching.by[0]', 'error']], JSON.stringify(issues));
    assert.match(m[0]!.message, /no username/);

    const never = connector('http://localhost:1', { by: 'never' }, { createUsers: false });
    const n = (await validateConnector(never)).issues.filter((i) => i.path.startsWith('targets[0].matching'));
    assert.equal(n.length, 1);
    assert.match(n[0]!.message, /no user can ever be synced/);

    // A mistyped key says what is wrong and what the forms are, not zod's "Invalid input".
    const problem = async (by: unknown) => (await validateConnector(connector('http://localhost:1', { by } as MatchingConfig))).issues.find((i) => i.path.startsWith('targets[0].matching'))?.message ?? '';
    assert.match(await problem([{ username: '$lower(x)' }]), /source attribute path such as onPremisesSamAccountName \(no expression\)/);
    assert.match(await problem(['email', 'usernam']), /^match key 2: "usernam" is not a match key; use username, email, \{username: <source attribute>\}/);
    assert.match(await problem('nevr'), /^give a list of match keys .* or never$/);
    assert.equal(await problem([]), 'give at least one match key, or never');
    assert.ok((await problem(['x'.repeat(5000)])).length < 300, 'a pasted blob is not echoed whole');
  });
});
