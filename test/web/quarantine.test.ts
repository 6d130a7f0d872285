// The Quarantine page in a real browser, with the real engine, the in-memory identity provider
// and the Jira DC emulator: an empty read is quarantined (nothing disabled); the administrator
// approves a selection (one user is disabled, the others stay held), then rejects the rest, and
// nothing more is done to them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { memoryDataset, person } from '../helpers/memory-source.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { buildServer, type IdsyncServer } from '../../src/server/index.ts';
import { defaultServices } from '../../src/server/services.ts';
import { Store } from '../../src/store/index.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { ADMIN_PASSWORD, Client } from '../api/helpers.ts';
import { ensureWebBuilt, launchBrowser, logIn, newTestPage } from './helpers.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

describe('quarantine page in the browser', { timeout: 120_000 }, () => {
  let jira: JiraDcEmulator;
  let store: Store;
  let server: IdsyncServer;
  let browser: Browser;
  let page: Page;
  let url: string;
  let quarantineId: string;
  const connector = (): ConnectorConfig => ({
    id: 'qweb',
    source: { type: 'memory', dataset: 'qweb', requiredGroups: [] },
    targets: [{ id: 'jira', type: 'jira-dc', url: jira.url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } }, createUsers: true, createMissingGroups: true, concurrency: 2, mapping: [
      { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
      { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
      { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
    ] }],
  });

  before(async () => {
    ensureWebBuilt();
    jira = await startJiraDcEmulator();
    store = await Store.open({ databaseUrl: ':memory:' });
    server = await buildServer({ store, services: await defaultServices(store, { fastRetries: true }), logger: false, scheduler: false });
    const admin = new Client(server.app);
    assert.equal((await admin.post('/api/v1/auth/setup', { username: 'admin', password: ADMIN_PASSWORD })).status, 200);
    await store.connectors.save(connector());
    const ds = memoryDataset('qweb', [person('w-1', 'Wanda One'), person('w-2', 'Walt Two'), person('w-3', 'Wes Three')]);
    const engine = new SyncEngine(store, { fastRetries: true });
    assert.equal((await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' })).run.counts.created, 3);
    ds.users = [];
    const r = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
    assert.ok(r.run.quarantine, 'the empty read is quarantined');
    quarantineId = r.run.quarantine.id;
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    page = await newTestPage(browser);
    await logIn(page, url, 'admin', ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
    await jira?.close();
  });

  test('approve a selection, then reject the rest', async () => {
    await page.getByRole('link', { name: 'Quarantine' }).click();
    const list = page.getByTestId('quarantine-list');
    await list.getByText('the identity provider returned nobody in scope').waitFor();
    await list.getByText('3 of 3').waitFor();
    await list.getByRole('link').first().click();
    const detail = page.getByTestId('quarantine-detail');
    await detail.getByText(/Nothing was disabled or deleted/).waitFor();
    assert.equal(await page.getByTestId('quarantine-users').locator('tbody tr').count(), 3);
    assert.equal(jira.inspect('wanda.one')!.active, true, 'nothing disabled while held');

    await page.getByLabel('select Walt Two').check();
    await page.getByTestId('approve-selected').getByText('Approve selected (1)').waitFor();
    await page.getByTestId('approve-selected').click();
    await page.getByTestId('quarantine-result').getByText(/Approved: 1 disabled/).waitFor();
    assert.equal(jira.inspect('walt.two')!.active, false, 'the selected user is disabled');
    assert.equal(jira.inspect('wanda.one')!.active, true, 'the others are not');
    await page.locator('tr[data-source-id="w-2"]').getByText('done').waitFor();
    await page.getByTestId('approve-all').getByText('Approve all 2').waitFor();

    await page.getByTestId('reject').click();
    await page.getByTestId('quarantine-status').getByText('rejected').waitFor();
    assert.equal(await page.getByTestId('approve-all').count(), 0, 'a closed quarantine offers no action');
    assert.equal(jira.inspect('wanda.one')!.active, true);
    assert.equal(jira.inspect('wes.three')!.active, true);
    assert.equal((await store.quarantines.get(quarantineId))?.status, 'rejected');
  });
});
