// Credentials that used to be JSON boxes, entered in a real browser against the emulators:
// Entra ID's certificate credential (Client secret | Certificate; the private key pasted or read
// from a file, the certificate pasted, read from a binary .cer, or given as its thumbprint) and
// Confluence DC's administrator login for profile fields (formLogin). Each is saved as a stored
// secret, shown as "set", never sent back, and Test connection proves it works; switching the
// credential leaves no trace of the other one in the saved configuration or the secret store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { generate } from 'selfsigned';
import { DEFAULT_GRAPH_CLIENT, startGraphEmulator, type GraphEmulator } from '../../emulators/graph/index.ts';
import { EMULATOR_ADMIN, startJiraDcEmulator, type JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { DEFAULT_ADMIN as CONFLUENCE_ADMIN, startConfluenceDcEmulator, type ConfluenceDcEmulator } from '../../emulators/confluence-dc/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import { ADMIN, errorOf, fieldByLabel, logIn, saveConnector, startBrowserUi, tearDown, testConnection as testConnectionOf } from './helpers.ts';

/** An app registration of the emulated tenant that signs in with a certificate only. */
const CERT_APP = 'c3a7f0d2-8e41-4b6a-9f2d-5a1c7e9b3d40';
const ID = 'entra-cert';
const WIKI_ID = 'wiki-sync';

describe('credentials in the connector form: Entra ID certificate and Confluence DC administrator login', () => {
  let graph: GraphEmulator;
  let jira: JiraDcEmulator;
  let confluence: ConfluenceDcEmulator;
  let store: Store;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let keyPem: string;
  let certPem: string;
  /** Bodies of every /api/ response the page received. */
  const bodies: string[] = [];

  const field = (label: string) => fieldByLabel(page, label);
  const save = (expect: 'Saved.' | RegExp) => saveConnector(page, expect);
  const pick = async (select: string, option: string) => {
    await page.getByRole('textbox', { name: select, exact: true }).click();
    await page.getByRole('option', { name: option, exact: true }).click();
  };
  const credential = (name: 'Client secret' | 'Certificate') => page.getByRole('radiogroup', { name: 'Credential' }).getByText(name, { exact: true }).click();
  const testConnection = (id: string) => testConnectionOf(page, id);
  const chooseFile = async (label: string, path: string) => {
    const chooser = page.waitForEvent('filechooser');
    await page.getByLabel(label, { exact: true }).click();
    await (await chooser).setFiles(path);
  };
  /** Lines of the private key's body: a JSON answer would escape the PEM's line breaks, never these. */
  const keyLines = () => keyPem.split(/\r?\n/).filter((l) => l && !l.startsWith('-----'));
  /** Every value in the page's inputs and text areas (page.content() leaves typed values out). */
  const typedValues = () => page.locator('input, textarea').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));

  before(async () => {
    const pems = await generate([{ name: 'commonName', value: 'idsync-browser-test' }], { keySize: 2048, algorithm: 'sha256' } as never);
    keyPem = pems.private;
    certPem = pems.cert;
    // The tenant knows the certificate of CERT_APP, as if uploaded in the Azure portal.
    graph = await startGraphEmulator({ users: 10, clients: [DEFAULT_GRAPH_CLIENT, { clientId: CERT_APP, certificates: [certPem] }] });
    jira = await startJiraDcEmulator();
    confluence = await startConfluenceDcEmulator();
    // The emulators share one private CA per process; the server trusts it.
    ({ dataDir, store, server, browser, page } = await startBrowserUi({ ca: graph.ca, dataDirPrefix: 'idsync-web-credentials-', apiBodies: bodies }));
  });

  after(async () => {
    await tearDown({ browser, server, store, dataDir });
    await Promise.all([graph?.close(), jira?.close(), confluence?.close()]);
  });

  test('a new Entra ID connector: Certificate instead of Client secret, key and certificate pasted, saved as a stored secret', async () => {
    await logIn(page, server.url, ADMIN.username, ADMIN.password);
    await page.getByRole('button', { name: 'Add connector' }).click();
    await page.getByRole('heading', { name: 'Add connector' }).waitFor();
    await field('Name').fill('Contoso by certificate');
    await field('ID').fill(ID);
    await field('Tenant ID').fill(graph.tenantId);
    await field('Client ID').fill(CERT_APP);
    // A client secret typed first and then abandoned for a certificate must not be saved.
    await field('Client Secret').fill('abandoned-client-secret-4711');
    await credential('Certificate');
    assert.equal(await field('Client Secret').count(), 0, 'the client secret field is gone with Certificate chosen');
    await field('Private key (PEM)').fill(keyPem);
    await field('Certificate (PEM)').fill(certPem);
    await field('Authority Host').fill(graph.authorityHost);
    await field('Graph URL').fill(graph.graphUrl);
    await field('URL').fill(jira.url);
    await pick('Auth', 'Personal access token');
    await field('Token').fill(EMULATOR_ADMIN.pat);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'Edit connector Contoso by certificate' }).waitFor();

    const stored = await store.connectors.get(ID);
    assert.ok(stored, 'the connector is in the store');
    const source = stored.config.source as Record<string, unknown>;
    assert.equal(source.clientSecret, undefined, 'no client secret in the saved configuration');
    assert.deepEqual(source.certificate, { privateKey: { stored: 'source.certificate.privateKey' }, certificate: certPem.trim() }, 'the key is a reference; the certificate is inline');
    const secret = await store.connectors.secretLookup(ID);
    assert.equal(secret('source.certificate.privateKey')?.trim(), keyPem.trim(), 'the stored private key');
    assert.equal(secret('source.clientSecret'), undefined, 'the abandoned client secret was not stored');
    // The form shows the key as set, the certificate as it is, and Certificate still chosen.
    await page.getByTestId('secret-set-Private key (PEM)').waitFor();
    assert.equal(await page.getByRole('radio', { name: 'Certificate' }).isChecked(), true, 'Certificate is chosen after reloading the saved connector');
    assert.equal((await field('Certificate (PEM)').inputValue()).trim(), certPem.trim());
    const values = await typedValues();
    assert.ok(!values.some((v) => keyLines().some((l) => v.includes(l))), 'the private key is in a form field after saving');
  });

  test('Test connection: the certificate signs in, both ends answer', async () => {
    const { title, rows } = await testConnection(ID);
    assert.equal(title, 'Both ends answer', JSON.stringify(rows));
    assert.deepEqual(rows.filter((r) => r.status !== 'ok'), [], 'no check failed');
    assert.ok(rows.some((r) => r.end === 'Source' && r.check === 'token'), 'the source sign-in was checked');
  });

  test('the key read from a file and the certificate from a binary .cer, then the thumbprint instead: each signs in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idsync-web-cert-files-'));
    try {
      writeFileSync(join(dir, 'app.key'), keyPem);
      writeFileSync(join(dir, 'app.cer'), new X509Certificate(certPem).raw);
      await page.getByRole('button', { name: 'Replace Private key (PEM)' }).click();
      await chooseFile('Read Private key (PEM) from a file', join(dir, 'app.key'));
      await field('Certificate (PEM)').fill('');
      await chooseFile('Read Certificate (PEM) from a file', join(dir, 'app.cer'));
      await page.waitForFunction(() => Array.from(document.querySelectorAll('textarea')).some((t) => t.value.startsWith('-----BEGIN CERTIFICATE-----')));
      await save('Saved.');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const cert = (await store.connectors.get(ID))!.config.source as { certificate?: { certificate?: string } };
    assert.equal(new X509Certificate(cert.certificate!.certificate!).fingerprint, new X509Certificate(certPem).fingerprint, 'the .cer became the same certificate in PEM');
    assert.equal((await store.connectors.secretLookup(ID))('source.certificate.privateKey'), keyPem.trim(), 'the key read from the file is stored');
    assert.equal((await testConnection(ID)).title, 'Both ends answer');

    // Without the certificate, the thumbprint as the Azure portal shows it (40 hex digits).
    await field('Certificate (PEM)').fill('');
    await field('Thumbprint').fill(new X509Certificate(certPem).fingerprint.replace(/:/g, ''));
    await save('Saved.');
    const byThumb = (await store.connectors.get(ID))!.config.source as { certificate?: Record<string, unknown> };
    assert.equal(byThumb.certificate?.certificate, undefined, 'the certificate was removed');
    assert.equal((await testConnection(ID)).title, 'Both ends answer');

    // Neither certificate nor thumbprint: refused next to the certificate field.
    await field('Thumbprint').fill('');
    await save(/^Not saved/);
    assert.equal(await errorOf(field('Certificate (PEM)')), 'give the certificate (PEM) or its thumbprint');
    await field('Thumbprint').fill(new X509Certificate(certPem).fingerprint.replace(/:/g, ''));
    await save('Saved.');
  });

  test('back to Client secret: the certificate and its stored key are gone; and to Certificate again', async () => {
    await credential('Client secret');
    await field('Client ID').fill(DEFAULT_GRAPH_CLIENT.clientId);
    await field('Client Secret').fill(DEFAULT_GRAPH_CLIENT.clientSecret);
    await save('Saved.');
    const stored = await store.connectors.get(ID);
    const source = stored!.config.source as Record<string, unknown>;
    assert.equal(source.certificate, undefined, 'no certificate in the saved configuration');
    assert.deepEqual(source.clientSecret, { stored: 'source.clientSecret' });
    const secret = await store.connectors.secretLookup(ID);
    assert.equal(secret('source.certificate.privateKey'), undefined, 'the private key was deleted from the store');
    assert.equal(secret('source.clientSecret'), DEFAULT_GRAPH_CLIENT.clientSecret);
    await page.getByTestId('secret-set-Client Secret').waitFor();
    assert.equal((await testConnection(ID)).title, 'Both ends answer');

    // Certificate again: the key has to be entered anew (nothing stored is reused).
    await credential('Certificate');
    await field('Client ID').fill(CERT_APP);
    await save(/^Not saved/);
    assert.equal(await errorOf(field('Private key (PEM)')), 'required: enter a value');
    await field('Private key (PEM)').fill(keyPem);
    await field('Certificate (PEM)').fill(certPem);
    await save('Saved.');
    const back = (await store.connectors.get(ID))!.config.source as Record<string, unknown>;
    assert.equal(back.clientSecret, undefined, 'no client secret left in the saved configuration');
    assert.equal((await store.connectors.secretLookup(ID))('source.clientSecret'), undefined, 'the client secret was deleted from the store');
    assert.equal((await testConnection(ID)).title, 'Both ends answer');
  });

  test('a Confluence DC target with a token: the administrator login for profile fields appears when it matters, is saved as a secret and works', async () => {
    await page.getByRole('link', { name: '← Connectors' }).click();
    await page.getByRole('button', { name: 'Add connector' }).click();
    await page.getByRole('heading', { name: 'Add connector' }).waitFor();
    await field('Name').fill('Wiki');
    await field('ID').fill(WIKI_ID);
    await field('Tenant ID').fill(graph.tenantId);
    await field('Client ID').fill(DEFAULT_GRAPH_CLIENT.clientId);
    await field('Client Secret').fill(DEFAULT_GRAPH_CLIENT.clientSecret);
    await field('Authority Host').fill(graph.authorityHost);
    await field('Graph URL').fill(graph.graphUrl);
    await pick('Product', 'Confluence Data Center');
    await field('Target ID').fill('wiki');
    await field('URL').fill(confluence.url);

    const login = page.getByRole('group', { name: 'Administrator login for profile fields' });
    assert.equal(await login.count(), 0, 'no administrator login before the auth is chosen');
    await pick('Auth', 'Username and password');
    assert.equal(await login.count(), 0, 'no administrator login with username and password (that login is used)');
    await pick('Auth', 'Personal access token');
    await login.waitFor();
    assert.match((await login.textContent()) ?? '', /Edit User Details form, which asks for an administrator's password/);
    await pick('Profile fields', 'off');
    assert.equal(await login.count(), 0, 'no administrator login with profile fields off');
    await pick('Profile fields', 'form');
    await login.waitFor();

    await field('Token').fill(CONFLUENCE_ADMIN.token);
    await login.getByLabel(/^Username/).fill(CONFLUENCE_ADMIN.username);
    // Only the username: the password is then required, next to it.
    await save(/^Not saved/);
    assert.equal(await errorOf(login.getByLabel(/^Password/)), 'required: enter a value');
    await login.getByLabel(/^Password/).fill(CONFLUENCE_ADMIN.password);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'Edit connector Wiki' }).waitFor();

    const target = (await store.connectors.get(WIKI_ID))!.config.targets[0] as Record<string, unknown>;
    assert.deepEqual(target.formLogin, { username: CONFLUENCE_ADMIN.username, password: { stored: 'target.wiki.formLogin.password' } });
    assert.deepEqual(target.auth, { type: 'pat', token: { stored: 'target.wiki.auth.token' } });
    assert.equal((await store.connectors.secretLookup(WIKI_ID))('target.wiki.formLogin.password'), CONFLUENCE_ADMIN.password);
    await login.getByTestId('secret-set-Password').waitFor();
    assert.equal(await login.getByLabel(/^Username/).inputValue(), CONFLUENCE_ADMIN.username);

    const { title, rows } = await testConnection(WIKI_ID);
    assert.equal(title, 'Both ends answer', JSON.stringify(rows));
    const form = rows.find((r) => r.end === 'Target wiki' && r.check === 'profile form');
    assert.equal(form?.status, 'ok', `the profile form check passed (${JSON.stringify(rows)})`);
  });

  test('no private key, password or token was in any API answer the page received', async () => {
    assert.ok(bodies.length > 10, 'responses were recorded');
    for (const line of keyLines()) assert.ok(!bodies.some((b) => b.includes(line)), 'a line of the private key appeared in an API answer');
    for (const s of [CONFLUENCE_ADMIN.password, CONFLUENCE_ADMIN.token, DEFAULT_GRAPH_CLIENT.clientSecret, EMULATOR_ADMIN.pat, 'abandoned-client-secret-4711']) {
      assert.ok(!bodies.some((b) => b.includes(s)), 'a secret appeared in an API answer');
    }
  });
});
