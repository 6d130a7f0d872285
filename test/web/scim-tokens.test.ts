// SCIM tokens on a SCIM connector's page, in a real browser against the real server: an
// administrator creates a token, sees it and the Tenant URL once, a reload never shows it again
// (idsync keeps only its hash), the provider's request with it is accepted, and after revoking
// (confirmed first) the same request gets 401.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { buildServer, type IdsyncServer } from '../../src/server/index.ts';
import { defaultServices } from '../../src/server/services.ts';
import { Store } from '../../src/store/index.ts';
import { ADMIN_PASSWORD, Client } from '../api/helpers.ts';
import { scimConnector } from '../scim/harness.ts';
import '../helpers/memory-source.ts';
import { ensureWebBuilt, launchBrowser, logIn, newTestPage } from './helpers.ts';

describe('SCIM tokens in the browser', { timeout: 120_000 }, () => {
  let store: Store;
  let server: IdsyncServer;
  let browser: Browser;
  let page: Page;
  let url: string;
  const apiBodies: string[] = [];

  before(async () => {
    ensureWebBuilt();
    store = await Store.open({ databaseUrl: ':memory:' });
    server = await buildServer({ store, services: await defaultServices(store, { fastRetries: true }), logger: false, scheduler: false });
    const admin = new Client(server.app);
    assert.equal((await admin.post('/api/v1/auth/setup', { username: 'admin', password: ADMIN_PASSWORD })).status, 200);
    // The target is never called here: only the SCIM endpoint's authentication is exercised.
    await store.connectors.save(scimConnector('http://127.0.0.1:9', 'inbound'));
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    page = await newTestPage(browser, apiBodies);
    await logIn(page, url, 'admin', ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
  });

  const scimGet = (token: string) => fetch(`${url}/scim/v2/inbound/Users`, { headers: { authorization: `Bearer ${token}`, accept: 'application/scim+json' } });

  test('create (shown once), reload (not shown), revoke after confirming, then the token gets 401', async () => {
    await page.goto(`${url}/#/connectors/inbound`);
    const panel = page.getByTestId('scim-tokens');
    await panel.getByText('No SCIM token yet').waitFor();

    await panel.getByLabel('Token label').fill('Entra ID provisioning');
    await panel.getByRole('button', { name: 'Create SCIM token' }).click();
    const once = panel.getByTestId('scim-token-once');
    await once.waitFor();
    const token = (await once.getByTestId('scim-once-token').textContent()) ?? '';
    const tenantUrl = (await once.getByTestId('scim-once-Tenant URL').textContent()) ?? '';
    assert.ok(token.length >= 20, `a token is shown (got "${token}")`);
    assert.equal(tenantUrl, `${url}/scim/v2/inbound`, 'the Tenant URL is the connector’s SCIM base');
    assert.equal(await once.getByRole('button', { name: 'Copy token' }).count(), 1, 'the token has a copy button');
    await panel.getByTestId('scim-token-list').getByText('Entra ID provisioning').waitFor();

    const accepted = await scimGet(token);
    assert.equal(accepted.status, 200, 'the provider’s request with the new token is accepted');

    apiBodies.length = 0;
    await page.reload();
    const list = page.getByTestId('scim-token-list');
    await list.getByText('Entra ID provisioning').waitFor();
    assert.equal(await page.getByTestId('scim-token-once').count(), 0, 'the token is not shown after a reload');
    assert.ok(!(await page.content()).includes(token), 'the token is nowhere in the page after a reload');
    assert.ok(apiBodies.length > 0 && apiBodies.every((b) => !b.includes(token)), 'no API answer after the reload carries the token');
    assert.equal(await list.locator('tbody tr').first().locator('td').nth(2).textContent().then((t) => t === 'never'), false, 'the token’s use is shown as last used');

    await list.getByRole('button', { name: 'Revoke token Entra ID provisioning' }).click();
    // Nothing is revoked until confirmed.
    assert.equal((await scimGet(token)).status, 200, 'the first click only asks');
    await list.getByRole('button', { name: 'Yes, revoke' }).click();
    await list.getByText(/^revoked/).waitFor();
    assert.equal(await list.getByRole('button', { name: /Revoke token/ }).count(), 0, 'a revoked token offers no revoke');

    const refused = await scimGet(token);
    assert.equal(refused.status, 401, 'a request with the revoked token is refused');
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="idsync SCIM"');
  });

  test('a connector that is not a SCIM connector shows no SCIM tokens', async () => {
    await store.connectors.save({ ...scimConnector('http://127.0.0.1:9', 'pull'), source: { type: 'memory', dataset: 'x', requiredGroups: [] } } as any);
    await page.goto(`${url}/#/connectors/pull`);
    await page.getByRole('heading', { name: /connector/ }).waitFor();
    await page.getByText('Basic settings').waitFor();
    assert.equal(await page.getByTestId('scim-tokens').count(), 0, 'no SCIM panel for a pull source');
  });
});
