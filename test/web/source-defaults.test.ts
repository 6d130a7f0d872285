// The new-connector form in a real browser: the mapping starts in the picked source type's
// attribute names and follows a change of source type while the administrator has not edited
// it; an edited mapping is kept. A Jira Cloud target shows its leaver settings (product-access
// groups and cleanup) together under Advanced, with help text.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { buildServer, type IdsyncServer } from '../../src/server/index.ts';
import { defaultServices } from '../../src/server/services.ts';
import { Store } from '../../src/store/index.ts';
import { ADMIN_PASSWORD, Client } from '../api/helpers.ts';
import { scimConnector } from '../scim/harness.ts';
import { ensureWebBuilt, errorOf, launchBrowser, logIn, newTestPage, saveConnector } from './helpers.ts';

describe('per-source defaults in the new-connector form', { timeout: 120_000 }, () => {
  let store: Store;
  let server: IdsyncServer;
  let browser: Browser;
  let page: Page;
  let url: string;

  before(async () => {
    ensureWebBuilt();
    store = await Store.open({ databaseUrl: ':memory:' });
    server = await buildServer({ store, services: await defaultServices(store, { fastRetries: true }), logger: false, scheduler: false });
    const admin = new Client(server.app);
    assert.equal((await admin.post('/api/v1/auth/setup', { username: 'admin', password: ADMIN_PASSWORD })).status, 200);
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    page = await newTestPage(browser);
    await logIn(page, url, 'admin', ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
  });

  const sources = () => Promise.all([1, 2, 3].map((n) => page.getByRole('textbox', { name: `Source of row ${n}`, exact: true }).inputValue()));
  const pickSource = async (label: string) => {
    await page.getByRole('textbox', { name: 'Identity provider' }).click();
    await page.getByRole('option', { name: label, exact: true }).click();
  };

  test('the mapping follows the source type until it is edited', async () => {
    await page.getByRole('button', { name: 'Add connector' }).click();
    await page.getByRole('heading', { name: 'Add connector' }).waitFor();
    await page.getByRole('button', { name: 'Show Advanced Settings' }).click();
    assert.deepEqual(await sources(), ['userPrincipalName', 'displayName', 'mail'], 'Entra ID starts with its own names');

    await pickSource('Okta');
    await page.waitForFunction(() => (document.querySelector('input[aria-label="Source of row 1"]') as HTMLInputElement | null)?.value === 'login');
    assert.deepEqual(await sources(), ['login', 'displayName', 'email'], 'Okta’s names replace Entra’s');
    await pickSource('Google Workspace');
    await page.waitForFunction(() => (document.querySelector('input[aria-label="Source of row 1"]') as HTMLInputElement | null)?.value === 'primaryEmail');
    assert.deepEqual(await sources(), ['primaryEmail', 'fullName', 'primaryEmail']);

    const row1 = page.getByRole('textbox', { name: 'Source of row 1', exact: true });
    await row1.fill('$lower(primaryEmail)');
    await row1.blur();
    await pickSource('Okta');
    await page.getByRole('textbox', { name: 'Identity provider' }).and(page.locator('[value="Okta"]')).waitFor();
    assert.deepEqual(await sources(), ['$lower(primaryEmail)', 'fullName', 'primaryEmail'], 'an edited mapping is kept when the source type changes');
  });

  test('a Jira Cloud target shows product-access groups and cleanup together, with help text', async () => {
    await page.getByRole('textbox', { name: 'Product' }).first().click();
    await page.getByRole('option', { name: 'Jira Cloud', exact: true }).click();
    const section = page.getByTestId('cleanup-jira');
    await section.waitFor();
    await section.getByText(/frees the licence seat/).waitFor();
    await section.getByRole('textbox', { name: 'Product-access groups' }).fill('jira-software-users-acme');
    await section.getByRole('textbox', { name: 'Product-access groups' }).press('Enter');
    await section.getByText('jira-software-users-acme', { exact: true }).waitFor();
    await section.getByText('Disable now, delete this many days later (with action disable or anonymise)').waitFor();
    assert.equal(await section.getByRole('textbox', { name: 'Protected users' }).count(), 1, 'protected users are editable');
    assert.equal(await page.getByRole('textbox', { name: 'Access Groups', exact: true }).count(), 0, 'accessGroups is not also shown by the generic form');
  });

  test('leaver settings of a saved Jira Cloud target are saved from the form; one the target cannot do is refused at its field', async () => {
    const base = scimConnector('http://127.0.0.1:9', 'cloud');
    await store.connectors.save({ ...base, targets: [{ id: 'jira', type: 'jira-cloud', baseUrl: 'https://acme.atlassian.net', email: 'admin@acme.test', apiToken: { env: 'IDSYNC_UI_TEST_JC_TOKEN' }, mapping: [{ target: 'groups', source: 'groups', flow: 'always', whenEmpty: 'clear' }] }] } as never);
    // The unsaved new connector of the tests before asks before leaving: leave it.
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${url}/#/connectors/cloud`);
    await page.getByRole('button', { name: 'Show Advanced Settings' }).click();
    const section = page.getByTestId('cleanup-jira');
    const groups = section.getByRole('textbox', { name: 'Product-access groups' });
    await groups.fill('jira-software-users-acme');
    await groups.press('Enter');
    const action = section.getByRole('textbox', { name: 'Action', exact: true });
    await action.click();
    await page.getByRole('option', { name: 'delete', exact: true }).click();
    await saveConnector(page, /Not saved/);
    assert.match(await errorOf(action), /cannot delete accounts/, 'the refusal is shown at the cleanup action');

    await action.click();
    await page.getByRole('option', { name: 'disable', exact: true }).click();
    await section.getByRole('textbox', { name: 'Protected users' }).fill('svc-*');
    await section.getByRole('textbox', { name: 'Protected users' }).press('Enter');
    await saveConnector(page, /Saved\.|Not saved/);
    const text = await page.getByTestId('save-message').textContent();
    const shown = await page.locator('.mantine-InputWrapper-error, [data-problem]').allTextContents();
    assert.equal(text, 'Saved.', `saved (problems shown: ${shown.join(' | ')})`);
    const saved = (await store.connectors.get('cloud'))!.config.targets[0] as any;
    assert.deepEqual(saved.accessGroups, ['jira-software-users-acme'], 'the product-access groups are saved');
    assert.equal(saved.cleanup?.action, 'disable', 'the cleanup action is saved');
    assert.deepEqual(saved.cleanup?.protected?.users, ['svc-*'], 'protected users are saved');
  });
});
