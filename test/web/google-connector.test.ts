// An administrator adds a Google Workspace connector in a real browser: the connector form
// offers Google Workspace with its own fields and help, the service account key is kept as a
// secret, and Test connection passes against the Google emulator, then says what to do when
// the domain-wide delegation lacks the group scope.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { startGoogleEmulator, SCOPES, type GoogleEmulator } from '../../emulators/google/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import { ADMIN, fieldByLabel, logIn, saveConnector, startBrowserUi, tearDown, testConnection } from './helpers.ts';

const ID = 'google-main';

describe('adding a Google Workspace connector in a browser', () => {
  let suite: Suite;
  let google: GoogleEmulator;
  let store: Store;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  const bodies: string[] = [];
  const field = (label: string) => fieldByLabel(page, label);

  before(async () => {
    suite = await startSuite({ users: 10, confluence: false });
    google = await startGoogleEmulator({ users: 20, seed: 3 });
    // Both emulators share the process's self-signed certificate.
    ({ dataDir, store, server, browser, page } = await startBrowserUi({ ca: google.ca, dataDirPrefix: 'idsync-web-google-', apiBodies: bodies }));
  });
  after(async () => {
    await tearDown({ browser, server, store, suite, dataDir });
    await google?.close();
  });

  test('Google Workspace is offered with its own fields and help; saved, its key is a secret; Test connection passes', async () => {
    await logIn(page, server.url, ADMIN.username, ADMIN.password);
    await page.getByRole('button', { name: 'Add connector' }).click();
    await page.getByRole('heading', { name: 'Add connector' }).waitFor();
    await page.getByRole('textbox', { name: 'Identity provider', exact: true }).click();
    await page.getByRole('option', { name: 'Google Workspace' }).click();
    await field('Administrator to act as').waitFor();
    assert.equal(await field('Tenant ID').count(), 0, "Entra's fields are gone");
    await page.getByText(/whose rights the service account uses \(domain-wide delegation\)/).waitFor();

    const key = JSON.stringify(google.keyFile());
    await field('Name').fill('Google test account');
    await field('ID').fill(ID);
    await field('Service account key (JSON)').fill(key);
    await field('Administrator to act as').fill(google.admin);
    await field('Api URL').fill(google.url);
    await field('URL').fill(suite.info.jira.url);
    await page.getByRole('textbox', { name: 'Auth', exact: true }).click();
    await page.getByRole('option', { name: 'Personal access token' }).click();
    await field('Token').fill(suite.info.jira.pat);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: /Edit connector Google test account/ }).waitFor();
    const stored = (await store.connectors.get(ID))!;
    assert.equal(stored.config.source.type, 'google');
    assert.deepEqual((stored.config.source as Record<string, unknown>).serviceAccountKey, { stored: 'source.serviceAccountKey' });
    assert.equal((await store.connectors.secretLookup(ID))('source.serviceAccountKey'), key);

    const ok = await testConnection(page, ID);
    assert.equal(ok.title, 'Both ends answer', JSON.stringify(ok.rows));
    for (const c of ['Source/service account key', 'Source/token', 'Source/read users', 'Source/read groups']) assert.ok(ok.rows.some((r) => `${r.end}/${r.check}` === c), `check ${c}`);
    assert.ok(!(await page.content()).includes(google.serviceAccount.privateKey.slice(40, 90)), 'the key is not on the page');
  });

  test('without the group scope delegated, Test connection says where to add it', async () => {
    google.serviceAccount.delegatedScopes = [SCOPES.users];
    try {
      const r = await testConnection(page, ID);
      assert.equal(r.title, 'Something failed; see the checks');
      const token = r.rows.find((x) => x.end === 'Source' && x.check === 'token')!;
      assert.match(token.message, /Manage Domain Wide Delegation/);
      assert.match(token.message, new RegExp(google.serviceAccount.clientId));
    } finally {
      google.serviceAccount.delegatedScopes = [SCOPES.users, SCOPES.groups];
    }
    // (Entra's settings describe a "-----BEGIN PRIVATE KEY-----" block: the key's own body is what must never come back.)
    const body = google.serviceAccount.privateKey.split('\n')[3]!;
    for (const b of bodies) assert.ok(!b.includes(body) && !b.includes(JSON.stringify(body).slice(1, -1)), 'no answer carries the key');
  });
});
