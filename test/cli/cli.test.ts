// The `idsync` command as an administrator runs it: `node bin/idsync.mjs ...` in a child
// process, with a YAML file whose secrets come from environment variables, a temporary data
// directory, and the emulators running in this test process (the child trusts the Graph
// emulator's certificate through IDSYNC_EXTRA_CA, the PEM itself).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { Store } from '../../src/store/index.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { runCommand, startServe, type Outcome } from './processes.ts';
import { ENV, SECRETS, assertJiraMatchesDirectory, e2eConnector, expectedUsername, patchDirectoryUser, startEmulators, type Emulators } from '../e2e/harness.ts';

/** Enough for two Graph pages (the manager expansion pages by 100) and the user in 125 groups (index 20). */
const USERS = 120;
const WRONG_PAT = `wrong-pat-${Date.now()}`;
/** Every value that must never show up in an output, a file or the store. */
const SECRET_VALUES = [SECRETS.graphClientSecret, SECRETS.jiraPat, WRONG_PAT];

/** Everything any command printed, checked for secrets at the end. */
const transcript: Array<{ args: string[]; out: string }> = [];

async function run(command: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Outcome> {
  const o = await runCommand(command, args, env);
  transcript.push({ args, out: o.stdout + o.stderr });
  return o;
}

function assertNoSecret(text: string, where: string): void {
  for (const s of SECRET_VALUES) assert.ok(!text.includes(s), `a secret value appears in ${where}`);
}

/** Files under a directory, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('the idsync command line', () => {
  let em: Emulators;
  let work: string;
  let dataDir: string;
  let configFile: string;
  let connector: ConnectorConfig;
  const runIds: string[] = [];

  const idsync = (args: string[], env: Record<string, string | undefined> = {}) =>
    run(process.execPath, ['bin/idsync.mjs', '--data-dir', dataDir, ...args], { IDSYNC_EXTRA_CA: em.graph.ca, IDSYNC_DATABASE_URL: undefined, ...env });
  /** The failed items of a run, for assertion messages. */
  const whyFailed = async (r: Record<string, any>): Promise<string> =>
    r.failed || r.status === 'failed' ? `${r.error ?? ''}\n${(await idsync(['run', r.run, '--operation', 'failed'])).stdout}` : '';
  const members = () => em.graph.directory.org.users.filter((u) => u.userType === 'Member' && u.mail && u.department);
  const json = <T = Record<string, any>>(o: Outcome): T => {
    try {
      return JSON.parse(o.stdout) as T;
    } catch {
      throw new Error(`not JSON (exit ${o.code}):\n${o.stdout}\n${o.stderr}`);
    }
  };
  const writeConfig = (name: string, c: unknown): string => {
    const path = join(work, name);
    writeFileSync(path, stringify({ version: 1, connectors: [c] }));
    return path;
  };

  before(async () => {
    em = await startEmulators({ users: USERS });
    work = mkdtempSync(join(tmpdir(), 'idsync-cli-test-'));
    dataDir = join(work, 'data');
    connector = e2eConnector(em, { id: 'entra-cli' });
    configFile = writeConfig('idsync.yaml', connector);
  });
  after(async () => {
    await em.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('usage errors exit 2 with a message naming the option and what it accepts, before anything runs', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['runs', '-n', 'abc'], /option '-n, --limit <n>' argument 'abc' is invalid\. Use a whole number from 1 to 500/],
      [['runs', '-n', '-5'], /option '-n, --limit <n>' argument '-5' is invalid\. Use a whole number from 1 to 500/],
      [['run', 'some-run', '-n', '2.5'], /option '-n, --limit <n>' argument '2\.5' is invalid\. Use a whole number from 1 to 100000/],
      [['run', 'some-run', '--operation', 'updatd'], /option '--operation <op>' argument 'updatd' is invalid\. Allowed choices are created, updated, unchanged, failed, skipped, missing, disabled/],
      [['demo', '--users', 'abc'], /option '--users <n>' argument 'abc' is invalid\. Use a whole number from 1 to 100000/],
      [['demo', '--users', '0'], /option '--users <n>' argument '0' is invalid/],
      [['serve', '--port', '65536'], /option '--port <n>' argument '65536' is invalid\. Use a whole number from 0 to 65535/],
      [['sync-user', ''], /argument 'user'\. It must not be empty/],
      [['validate'], /validate needs --config FILE/],
      [['runs', '--limt', '5'], /unknown option '--limt'\n\(Did you mean --limit\?\)/],
    ];
    const outcomes = await Promise.all(cases.map(([args]) => idsync(args)));
    cases.forEach(([args, message], i) => {
      const o = outcomes[i]!;
      assert.equal(o.code, 2, `idsync ${args.join(' ')} exited ${o.code}: ${o.stdout}${o.stderr}`);
      assert.match(o.stderr, message, `idsync ${args.join(' ')}`);
      assert.match(o.stderr, /run with --help for usage/, `idsync ${args.join(' ')}`);
      assert.equal(o.stdout, '', `idsync ${args.join(' ')} printed nothing else`);
    });
    // Nothing was started or opened: no store was created for these commands.
    assert.equal(existsSync(dataDir), false, 'a usage error opened the store');
    const help = await idsync(['run', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--operation <op> +only items with this operation \(choices: "created",/);
    assert.match(help.stdout, /how many items \(1 to 100000\) \(default: 200\)/);
  });

  test('validate accepts a valid file', async () => {
    const o = await idsync(['validate', '--config', configFile]);
    assert.equal(o.code, 0, o.stderr);
    assert.match(o.stdout, /is valid: entra-cli/);
  });

  test('validate refuses a bad mapping expression, naming connector, target, row and position', async () => {
    const bad = structuredClone(connector);
    bad.targets[0]!.mapping[5]!.source = 'department & (';
    const o = await idsync(['validate', '--config', writeConfig('bad-mapping.yaml', bad)]);
    assert.equal(o.code, 1);
    assert.match(o.stderr, /connectors\[0\] \(entra-cli\) is invalid/);
    assert.match(o.stderr, /targets\[0\]\.mapping\[5\]\.source \(target "jira"\), line \d+, column \d+/);
    assert.match(o.stderr, /position 14/);
  });

  test('validate refuses an inline secret', async () => {
    const inline = structuredClone(connector) as unknown as { source: Record<string, unknown> };
    inline.source.clientSecret = 'abc';
    const o = await idsync(['validate', '--config', writeConfig('inline-secret.yaml', inline)]);
    assert.equal(o.code, 1);
    assert.match(o.stderr, /source\.clientSecret, line \d+, column \d+: .*never written inline/);
  });

  test('sync --dry-run plans everyone and writes nothing', async () => {
    const o = await idsync(['sync', '--config', configFile, '--dry-run', '--json']);
    assert.equal(o.code, 0, o.stderr);
    const r = json(o);
    assert.equal(r.dryRun, true);
    assert.equal(r.status, 'succeeded');
    assert.equal(r.created, USERS);
    assert.equal(em.jira.stats.writes, 0);
    runIds.push(r.run);
  });

  test('sync --json creates everyone and exits 0', async () => {
    const o = await idsync(['sync', '--config', configFile, '--json']);
    const r = json(o);
    assert.equal(o.code, 0, await whyFailed(r));
    assert.deepEqual([r.status, r.read, r.created, r.failed, r.missing], ['succeeded', USERS, USERS, 0, 0]);
    // Users written (one per user and target), not HTTP requests: creating a user takes several.
    assert.equal(r.usersWritten, USERS);
    assert.equal(r.writes, USERS, 'the old name of usersWritten stays in the JSON');
    assertJiraMatchesDirectory(em.jira, em.graph.directory.org);
    runIds.push(r.run);
  });

  test('sync-user by UPN updates one user; `run <id> --operation updated` shows field: before → after', async () => {
    const user = members()[2]!;
    const before = user.department; // the emulator edits this very object
    await patchDirectoryUser(em.graph, user.id, { department: 'Platform Engineering' });
    const o = await idsync(['sync-user', '--config', configFile, user.userPrincipalName, '--json']);
    assert.equal(o.code, 0, o.stdout + o.stderr);
    const r = json(o);
    assert.equal(r.updated, 1);
    assert.equal(r.user.sourceId, user.id);
    assert.equal(em.jira.inspect(expectedUsername(user))!.properties.department, 'Platform Engineering');
    runIds.push(r.run);

    const shown = await idsync(['run', r.run, '--operation', 'updated']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(shown.stdout.includes(`property.department: ${JSON.stringify(before)} → "Platform Engineering"`), shown.stdout);
    assert.match(shown.stdout, /user sync succeeded/);
  });

  test('runs --json lists the runs, newest first', async () => {
    const o = await idsync(['runs', '--json']);
    assert.equal(o.code, 0, o.stderr);
    const runs = json<Array<{ id: string; kind: string; dryRun: boolean }>>(o);
    assert.deepEqual(runs.map((r) => r.id), [...runIds].reverse());
    assert.deepEqual(runs.map((r) => [r.kind, r.dryRun]), [['user', false], ['full', false], ['full', true]]);
  });

  test('exit code 3 when the run finished but a user failed', async () => {
    const user = members().find((u) => u.jobTitle)!;
    const jobTitle = user.jobTitle;
    await patchDirectoryUser(em.graph, user.id, { jobTitle: 'x'.repeat(40_000) });
    try {
      const o = await idsync(['sync', '--config', configFile]);
      assert.equal(o.code, 3, o.stdout + o.stderr);
      assert.match(o.stdout, /full sync partial: .*failed 1.*; users written \d+ \(run /);
      assert.match(o.stdout, /property\.jobTitle: the value is 40000 characters long/);
      // The others are unchanged: counted, not listed, and `run` says so rather than showing nothing.
      const runId = /\(run ([^)\s]+)/.exec(o.stdout)?.[1];
      assert.ok(runId, o.stdout);
      const shown = await idsync(['run', runId, '--operation', 'unchanged', '--json']);
      const answer = json<{ total: number; unlisted: number; run: { counts: { unchanged: number } } }>(shown);
      assert.deepEqual([answer.total, answer.unlisted], [0, answer.run.counts.unchanged]);
      assert.ok(answer.unlisted > 0, shown.stdout);
      assert.match((await idsync(['run', runId])).stdout, new RegExp(`^${answer.unlisted} users unchanged \\(not listed`, 'm'));
    } finally {
      await patchDirectoryUser(em.graph, user.id, { jobTitle });
    }
  });

  test('exit code 1 and a helpful message when the run fails (wrong Jira token)', async () => {
    // A pending change, so the run has to talk to Jira (a no-change run sends it nothing).
    await patchDirectoryUser(em.graph, members()[3]!.id, { department: 'Site Reliability' });
    const o = await idsync(['sync', '--config', configFile], { [ENV.jira]: WRONG_PAT });
    assert.equal(o.code, 1, o.stdout + o.stderr);
    assert.match(o.stderr, /error: stopped writing to target jira: Jira answered 401 .*check the credentials and permissions configured for Jira/);
    const j = await idsync(['sync', '--config', configFile, '--json'], { [ENV.jira]: WRONG_PAT });
    assert.equal(j.code, 1);
    assert.equal(json(j).status, 'failed');
  });

  test('config import saves the connector, sync runs from the store, config export never contains a secret', async () => {
    const imported = await idsync(['config', 'import', configFile]);
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    assert.match(imported.stdout, /imported entra-cli/);

    // No --config: the stored connector is used. Nothing changed since the last good run.
    const o = await idsync(['sync', '--json']);
    const r = json(o);
    assert.equal(o.code, 0, await whyFailed(r));
    assert.equal(r.updated, 1, 'the change the failed run could not write');
    assert.equal(r.unchanged, USERS - 1);

    const exported = await idsync(['config', 'export']);
    assert.equal(exported.code, 0, exported.stderr);
    const doc = parse(exported.stdout) as { connectors: Array<Record<string, any>> };
    assert.deepEqual(doc.connectors[0]!.source.clientSecret, { env: ENV.graph });
    assert.deepEqual(doc.connectors[0]!.targets[0].auth.token, { env: ENV.jira });
    const file = join(work, 'exported.yaml');
    const toFile = await idsync(['config', 'export', '--output', file]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assertNoSecret(readFileSync(file, 'utf8'), 'the exported file');
    assert.deepEqual(parse(readFileSync(file, 'utf8')), doc);

    // --json: the same document as JSON, which config import reads too (into a second store).
    const asJson = await idsync(['config', 'export', '--json']);
    assert.equal(asJson.code, 0, asJson.stderr);
    assert.deepEqual(json(asJson), doc);
    const jsonFile = join(work, 'exported.json');
    writeFileSync(jsonFile, asJson.stdout);
    const elsewhere = await run(process.execPath, ['bin/idsync.mjs', '--data-dir', join(work, 'data-2'), 'config', 'import', '--json', jsonFile], { IDSYNC_DATABASE_URL: undefined });
    assert.equal(elsewhere.code, 0, elsewhere.stdout + elsewhere.stderr);
    assert.deepEqual(json(elsewhere).saved, ['entra-cli']);
  });

  test('serve --json announces its address as one JSON line, and the API answers there', async () => {
    const serve = await startServe(['--data-dir', join(work, 'data-serve')], { IDSYNC_DATABASE_URL: undefined });
    try {
      assert.match(serve.url, /^http:\/\/127\.0\.0\.1:\d+/);
      assert.equal(serve.administratorExists, false);
      const status = await fetch(`${serve.url}/api/v1/auth/status`);
      assert.equal(status.status, 200);
    } finally {
      await serve.stop();
    }
  });

  test('no secret value in any output, in the runs and their items, or anywhere in the data directory', async () => {
    assert.ok(transcript.length >= 10, 'transcript.length >= 10');
    for (const t of transcript) assertNoSecret(t.out, `the output of idsync ${t.args.join(' ')}`);
    const store = await Store.open({ dataDir });
    try {
      const runs = await store.runs.list({ limit: 100 });
      assert.ok(runs.length >= 5, 'runs.length >= 5');
      for (const r of runs) {
        assertNoSecret(JSON.stringify(r), `run ${r.id}`);
        assertNoSecret(JSON.stringify(await store.runs.items(r.id, { limit: 100_000 })), `the items of run ${r.id}`);
      }
    } finally {
      await store.close();
    }
    for (const f of filesUnder(dataDir)) assertNoSecret(readFileSync(f).toString('latin1'), f);
  });
});

describe('npm run demo', () => {
  test('`npm run demo -- --once --json` works twice in a row; its temporary data directory goes unless --keep', async () => {
    for (const [attempt, extra] of [[1, []], [2, ['--keep']]] as const) {
      const o = await run('npm', ['run', '--silent', 'demo', '--', '--once', '--json', ...extra], { IDSYNC_DATA_DIR: undefined });
      assert.equal(o.code, 0, `attempt ${attempt}: ${o.stdout}\n${o.stderr}`);
      const summary = JSON.parse(o.stdout.slice(o.stdout.indexOf('{'))) as {
        run: string;
        status: string;
        failed: number;
        created: number;
        error?: string;
        dataDir: string;
        dataDirKept: boolean;
        targets: Record<string, { created: number; failed: number }>;
      };
      const why = async () =>
        summary.failed > 0 && existsSync(summary.dataDir)
          ? (await run(process.execPath, ['bin/idsync.mjs', '--data-dir', summary.dataDir, 'run', summary.run, '--operation', 'failed'])).stdout
          : (summary.error ?? '');
      try {
        assert.equal(summary.status, 'succeeded', `attempt ${attempt}: ${await why()}`);
        assert.equal(summary.failed, 0, `attempt ${attempt}: ${await why()}`);
        assert.ok(summary.created > 100, `attempt ${attempt}: created ${summary.created}`);
        // One tenant into Jira and Confluence at once: the summary counts each target.
        assert.deepEqual(Object.keys(summary.targets), ['jira', 'confluence']);
        assert.equal(summary.targets.jira!.created + summary.targets.confluence!.created, summary.created);
        assert.ok(summary.targets.confluence!.created > 100, `attempt ${attempt}: Confluence created ${summary.targets.confluence!.created}`);
        assert.equal(summary.dataDirKept, extra.length > 0);
        assert.equal(existsSync(summary.dataDir), extra.length > 0, `attempt ${attempt}: ${summary.dataDir} exists: ${existsSync(summary.dataDir)}`);
      } finally {
        rmSync(summary.dataDir, { recursive: true, force: true });
      }
    }
  });
});
