// An administrator adds a connector from nothing in a real browser, against the emulators (Entra
// ID tenant and Jira DC): input the server refuses is shown next to its field and nothing is
// saved; the saved connector keeps its secrets in the store and never sends them back; Test
// connection reports both ends, then says exactly which end fails for a wrong Jira token, a wrong
// client secret and an unknown tenant; the schedule is refused when its cron is invalid and
// described in words with its next runs when it is valid.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import { ADMIN, errorOf, fieldByLabel, logIn, saveConnector, screenshot, startBrowserUi, tearDown, testConnection as testConnectionOf } from './helpers.ts';

const ID = 'entra-main';
const NAME = 'Contoso test tenant';
const WRONG_TOKEN = 'not-the-jira-token-4711';
const WRONG_SECRET = 'not-the-client-secret-4711';
const UNKNOWN_TENANT = '0b1e4f53-1c9a-4d8e-9f11-7a2d35c0e9b4';

describe('adding a connector from scratch in a browser, and Test connection', () => {
  let suite: Suite;
  let store: Store;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  /** Bodies of every /api/ response the page received. */
  const bodies: string[] = [];

  const field = (label: string) => fieldByLabel(page, label);
  const save = (expect: 'Saved.' | RegExp) => saveConnector(page, expect);
  const testConnection = () => testConnectionOf(page, ID);
  const replaceSecret = async (label: string, value: string) => {
    await page.getByRole('button', { name: `Replace ${label}` }).click();
    await field(label).fill(value);
  };

  before(async () => {
    suite = await startSuite({ users: 10, confluence: false });
    ({ dataDir, store, server, browser, page } = await startBrowserUi({ ca: suite.info.graph.ca, dataDirPrefix: 'idsync-web-add-', apiBodies: bodies }));
  });

  after(() => tearDown({ browser, server, store, suite, dataDir }));

  test('log in, Settings → Connectors, Add connector', async () => {
    await logIn(page, server.url, ADMIN.username, ADMIN.password);
    await page.getByText('No connector yet').waitFor();
    await page.getByRole('button', { name: 'Add connector' }).click();
    await page.getByRole('heading', { name: 'Add connector' }).waitFor();
  });

  test('an invalid id and a missing tenant are refused together, each next to its field, and nothing is saved', async () => {
    const g = suite.info.graph;
    await field('Name').fill(NAME);
    await field('ID').fill('Entra Main');
    // Tenant ID left empty on purpose.
    await field('Client ID').fill(g.clientId);
    await field('Client Secret').fill(g.clientSecret);
    await field('Authority Host').fill(g.authorityHost);
    await field('Graph URL').fill(g.graphUrl);
    await field('URL').fill(suite.info.jira.url);
    await page.getByRole('textbox', { name: 'Auth', exact: true }).click();
    await page.getByRole('option', { name: 'Personal access token' }).click();
    await field('Token').fill(suite.info.jira.pat);
    // Both problems come back from one save, each next to its field.
    await save(/^Not saved: the connector was not saved: 2 problems to fix/);
    assert.equal(await errorOf(field('ID')), 'use lower-case letters, digits and dashes');
    assert.equal(await errorOf(field('Tenant ID')), 'required: enter a value');
    assert.equal(await errorOf(field('Client ID')), '', 'a valid field shows no error');
    assert.deepEqual(await store.connectors.list(), [], 'nothing was saved');
  });

  test('with the id fixed, the missing tenant is still refused next to it, and nothing is saved', async () => {
    await field('ID').fill(ID);
    await save(/^Not saved: the connector was not saved: 1 problem to fix/);
    assert.equal(await errorOf(field('Tenant ID')), 'required: enter a value');
    assert.equal(await errorOf(field('ID')), '', 'the fixed id shows no error any more');
    assert.deepEqual(await store.connectors.list(), [], 'nothing was saved');
    // What was typed is kept for the next try, the secrets included.
    assert.equal(await field('Token').inputValue(), suite.info.jira.pat);
  });

  test('fixed, it saves: the connector is in the store with its secrets, which never come back', async () => {
    await field('Tenant ID').fill(suite.info.graph.tenantId);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    // A new connector opens in its edit page once saved.
    await page.getByRole('heading', { name: `Edit connector ${NAME}` }).waitFor();
    const stored = await store.connectors.get(ID);
    assert.ok(stored, 'the connector is in the store');
    assert.equal(stored.config.name, NAME);
    assert.equal(stored.config.source.type, 'entra');
    assert.deepEqual(stored.config.source.clientSecret, { stored: 'source.clientSecret' }, 'only a reference in the configuration');
    const target = stored.config.targets[0]!;
    assert.equal(target.type, 'jira-dc');
    assert.deepEqual(target.auth, { type: 'pat', token: { stored: 'target.jira.auth.token' } });
    const secret = await store.connectors.secretLookup(ID);
    assert.equal(secret('source.clientSecret'), suite.info.graph.clientSecret);
    assert.equal(secret('target.jira.auth.token'), suite.info.jira.pat);
    // The edit page shows both secrets as set, without their values.
    await page.getByTestId('secret-set-Client Secret').waitFor();
    await page.getByTestId('secret-set-Token').waitFor();
    const html = await page.content();
    for (const s of [suite.info.graph.clientSecret, suite.info.jira.pat]) assert.ok(!html.includes(s), 'a secret is on the page after saving');
  });

  test('Test connection: both ends answer, every check ok', async () => {
    const { title, rows } = await testConnection();
    assert.equal(title, 'Both ends answer');
    const checks = rows.map((r) => `${r.end}/${r.check}`);
    for (const c of ['Source/token', 'Source/read users', 'Target jira/reach Jira', 'Target jira/credentials', 'Target jira/administrator']) assert.ok(checks.includes(c), `check ${c} is listed (${checks.join(', ')})`);
    assert.deepEqual(rows.filter((r) => r.status !== 'ok'), [], 'no check failed');
    await screenshot(page, 'add-connector');
  });

  test('a wrong Jira token: the Jira credentials check fails and says so, the source is still ok', async () => {
    await replaceSecret('Token', WRONG_TOKEN);
    await save('Saved.');
    assert.equal((await store.connectors.secretLookup(ID))('target.jira.auth.token'), WRONG_TOKEN);
    const { title, rows } = await testConnection();
    assert.equal(title, 'Something failed; see the checks');
    const jira = rows.filter((r) => r.end === 'Target jira');
    assert.deepEqual(jira.map((r) => [r.check, r.status]), [['reach Jira', 'ok'], ['credentials', 'failed']]);
    assert.match(jira[1]!.message, /^Jira did not accept the personal access token: it is wrong, expired or revoked \(Jira answered 401/);
    const source = rows.filter((r) => r.end === 'Source');
    assert.ok(source.length > 0 && source.every((r) => r.status === 'ok'), 'the source checks are still ok');
  });

  test('a wrong client secret: the source sign-in check fails and says the secret was rejected, Jira is ok again', async () => {
    await replaceSecret('Token', suite.info.jira.pat);
    await replaceSecret('Client Secret', WRONG_SECRET);
    await save('Saved.');
    const { rows } = await testConnection();
    const source = rows.filter((r) => r.end === 'Source');
    assert.deepEqual(source.map((r) => [r.check, r.status]), [['token', 'failed']], 'nothing else is tried without a token');
    assert.match(source[0]!.message, /^Microsoft Entra ID sign-in failed: the client secret was rejected/);
    assert.match(source[0]!.message, /enter the secret's Value \(not its Secret ID\)/);
    const jira = rows.filter((r) => r.end === 'Target jira');
    assert.ok(jira.length === 3 && jira.every((r) => r.status === 'ok'), 'the Jira checks are ok with the right token');
  });

  test('an unknown tenant: the source sign-in check fails naming the tenant', async () => {
    await replaceSecret('Client Secret', suite.info.graph.clientSecret);
    await field('Tenant ID').fill(UNKNOWN_TENANT);
    await save('Saved.');
    const { rows } = await testConnection();
    const source = rows.filter((r) => r.end === 'Source');
    assert.deepEqual(source.map((r) => [r.check, r.status]), [['token', 'failed']]);
    assert.match(source[0]!.message, new RegExp(`^Microsoft Entra ID sign-in failed: tenant '${UNKNOWN_TENANT}' was not found`));
    // Back to the right tenant: both ends answer again.
    await field('Tenant ID').fill(suite.info.graph.tenantId);
    await save('Saved.');
    assert.equal((await testConnection()).title, 'Both ends answer');
  });

  test('schedule: a bad cron is refused next to the cron field; a valid one is described with its next three runs', async () => {
    await page.getByRole('button', { name: 'Show Advanced Settings' }).click();
    await page.getByRole('switch', { name: 'Run a full sync on a schedule' }).check();
    const cron = field('Cron expression');
    await cron.fill('61 * * * *');
    await save(/^Not saved/);
    assert.equal(await errorOf(cron), 'not a valid cron expression: Invalid value for minute: 61');
    assert.equal((await store.connectors.get(ID))!.config.schedule, undefined, 'the bad schedule was not saved');

    const described = page.waitForResponse((r) => {
      const q = new URL(r.url()).searchParams;
      return r.url().includes('/api/v1/schedule/describe') && q.get('cron') === '30 6 * * 1-5' && q.get('timezone') === 'Europe/Berlin';
    });
    await cron.fill('30 6 * * 1-5');
    await field('Time zone').fill('Europe/Berlin');
    const answer = (await (await described).json()) as { next: string[] };
    const description = page.getByTestId('schedule-description');
    await description.getByText('At 06:30, Monday through Friday (Europe/Berlin)').waitFor();
    // The next runs shown are the ones the server computed, as the browser writes dates.
    assert.equal(answer.next.length, 3);
    for (const n of answer.next) {
      const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(n));
      assert.match(berlin, /^(Mon|Tue|Wed|Thu|Fri) 06:30$/, `${n} is a weekday at 06:30 in Berlin`);
    }
    // In the one date format of every page (medium date, short time), not toLocaleString's own.
    const expected = await page.evaluate((next) => `Next runs: ${next.map((n) => new Date(n).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })).join(' · ')}`, answer.next);
    assert.equal(await description.getByText(/^Next runs:/).textContent(), expected);
    await save('Saved.');
    assert.deepEqual((await store.connectors.get(ID))!.config.schedule, { cron: '30 6 * * 1-5', timezone: 'Europe/Berlin', enabled: true, incremental: '1m' }, 'an interval left empty is the default, 1m');
  });

  test('no secret value was in any API answer the page received', async () => {
    assert.ok(bodies.length > 10, 'responses were recorded');
    for (const s of [suite.info.graph.clientSecret, suite.info.jira.pat, WRONG_TOKEN, WRONG_SECRET]) {
      assert.ok(!bodies.some((b) => b.includes(s)), 'a secret appeared in an API answer');
    }
  });
});
