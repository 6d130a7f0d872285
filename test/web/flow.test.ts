// The administrator's whole flow in a real browser against the emulators (Entra ID tenant and
// Jira DC): log in, edit a connector, add manager.mail → property.managerEmail, preview it,
// have a bad expression refused next to its row, save, sync one user and find the property in
// Jira, simulate a full sync (nothing written), run it, browse and filter the results. Then a
// viewer who can change nothing and never sees a secret. Screenshots go to docs/screenshots/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { generateOrg } from '../../emulators/org/index.ts';
import { demoConnector, demoSecrets } from '../../src/cli/demo.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { hashPassword } from '../../src/server/passwords.ts';
import type { Store } from '../../src/store/index.ts';
import { addMappingRow, ADMIN, logIn, newTestPage, screenshot, startBrowserUi, tearDown } from './helpers.ts';
import { unscheduled } from '../helpers/unscheduled.ts';

const USERS = 30;
const VIEWER = { username: 'vera', password: 'viewer password 1' };

describe('admin UI in a browser against the emulators', () => {
  let suite: Suite;
  let store: Store;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let secrets: string[];
  let subject: { upn: string; username: string; managerMail: string; displayName: string };

  before(async () => {
    suite = await startSuite({ users: USERS, confluence: false });
    const org = generateOrg({ users: USERS, seed: 7 });
    const u = org.users.find((x) => x.managerId && x.mail && x.accountEnabled && !x.userPrincipalName.includes('#EXT#'))!;
    subject = {
      upn: u.userPrincipalName,
      username: u.userPrincipalName.split('@')[0]!.toLowerCase(),
      managerMail: org.users.find((m) => m.id === u.managerId)!.mail!,
      displayName: u.displayName,
    };

    const connector = demoConnector(suite.info);
    // Start without the managerEmail row: the test adds it through the UI.
    connector.targets[0]!.mapping = connector.targets[0]!.mapping.filter((r) => r.target !== 'property.managerEmail');
    // No scheduled run in the background: the runs the UI shows are the ones this test starts.
    unscheduled(connector);
    const secretValues = demoSecrets(suite.info);
    secrets = Object.values(secretValues);
    const prepare = (s: Store) => s.connectors.save(connector, { secrets: secretValues }).then(() => undefined);
    ({ dataDir, store, server, browser, page } = await startBrowserUi({ ca: suite.info.graph.ca, dataDirPrefix: 'idsync-web-', prepare }));
    await server.auth.createUser(VIEWER.username, await hashPassword(VIEWER.password), 'viewer');
  });

  after(() => tearDown({ browser, server, store, suite, dataDir }));

  test('log in and see the connector list', async () => {
    await logIn(page, server.url, ADMIN.username, ADMIN.password);
    const list = page.getByTestId('connector-list');
    await list.getByText('Contoso (emulated Entra ID)').waitFor();
    await list.getByText('never', { exact: true }).waitFor();
    await screenshot(page, 'connector-list');
  });

  test('edit the mapping: add manager.mail → property.managerEmail and preview it', async () => {
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: /Edit connector/ }).waitFor();
    assert.equal(await page.getByText('set', { exact: true }).count() > 0, true, 'stored secrets show as set');
    await page.getByRole('button', { name: 'Show Advanced Settings' }).click();
    const table = page.getByTestId('mapping-table-jira');
    const row = await addMappingRow(page);
    await page.getByRole('textbox', { name: `Source of row ${row}`, exact: true }).fill('manager.mail');
    await page.getByRole('textbox', { name: `Target of row ${row}`, exact: true }).fill('property.managerEmail');
    await page.keyboard.press('Escape');
    await page.getByRole('textbox', { name: 'Preview with user', exact: true }).fill(subject.upn);
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    await page.getByTestId(`preview-${row - 1}`).getByText(subject.managerMail).waitFor();
    await table.scrollIntoViewIfNeeded();
    await screenshot(page, 'mapping-table');
  });

  test('a bad expression is refused with its message next to the row, and nothing is saved', async () => {
    const revision = (await store.connectors.get('contoso-entra'))!.revision;
    const rows = await addMappingRow(page);
    await page.getByRole('textbox', { name: `Source of row ${rows}`, exact: true }).fill('$lowercase(mail');
    await page.getByRole('textbox', { name: `Target of row ${rows}`, exact: true }).fill('property.broken');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('save-message').getByText(/Not saved/).waitFor();
    const badRow = page.getByTestId(`mapping-row-${rows - 1}`);
    const problem = badRow.getByText(/at position \d+/);
    await problem.waitFor();
    // One position, said once (the row used to add "(at character N+1)" to "at position N").
    assert.equal(((await problem.textContent()) ?? '').match(/position|character/g)?.length, 1, await problem.textContent() ?? '');
    assert.equal((await store.connectors.get('contoso-entra'))!.revision, revision);
    await page.getByRole('button', { name: `Delete row ${rows}` }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('save-message').getByText('Saved.').waitFor();
    const saved = (await store.connectors.get('contoso-entra'))!.config;
    assert.ok(saved.targets[0]!.mapping.some((r) => r.target === 'property.managerEmail' && r.source === 'manager.mail'), "saved.targets[0]!.mapping.some((r) => r.target === 'property.managerEmail' && r.source ...");
    assert.equal((await store.connectors.secretLookup('contoso-entra'))('source.clientSecret'), suite.info.graph.clientSecret, 'secrets kept');
  });

  test('sync one user and find the property written in the Jira emulator', async () => {
    await page.getByRole('button', { name: 'Sync…' }).click();
    // Looked up by the start of the name, picked from what the identity provider found.
    await page.getByRole('textbox', { name: 'User', exact: true }).fill(subject.displayName.slice(0, subject.displayName.indexOf(' ') + 3));
    await page.getByRole('option', { name: new RegExp(subject.upn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) }).click();
    assert.equal(await page.getByRole('textbox', { name: 'User', exact: true }).inputValue(), subject.upn, 'the pick fills in the UPN');
    await page.getByRole('button', { name: 'Sync user' }).click();
    const report = page.getByTestId('user-report');
    await report.getByText('Changes made').waitFor({ timeout: 60_000 });
    await report.getByText(/property\.managerEmail/).first().waitFor();
    assert.equal(suite.jira.inspect(subject.username)?.properties.managerEmail, subject.managerMail);
  });

  test('Simulate plans the full sync, shows it as a simulation and writes nothing', async () => {
    const writesBefore = suite.jira.stats.writes;
    await page.getByRole('button', { name: 'Simulate', exact: true }).click();
    let run;
    for (let i = 0; i < 600 && !run; i++) {
      run = (await store.runs.list({ connectorId: 'contoso-entra' })).find((r) => r.dryRun && r.finishedAt);
      if (!run) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(run, 'the simulation finished');
    assert.notEqual(run.status, 'failed', run.error ?? '');
    assert.ok(run.counts.created > 0, `the plan creates the users not synced yet: ${JSON.stringify(run.counts)}`);
    assert.equal(suite.jira.stats.writes, writesBefore, 'a simulation sends no write request to Jira');
    await page.getByTestId('last-run').locator(`a[href="#/runs/${run.id}"]`).click();
    await page.getByRole('heading', { name: /simulation: nothing was written/ }).waitFor();
    await page.getByTestId('run-items').getByText('created', { exact: true }).first().waitFor();
    await page.goBack();
    await page.getByRole('button', { name: 'Full sync', exact: true }).waitFor();
  });

  test('run a full sync with progress, then browse and filter the results', async () => {
    await page.getByRole('button', { name: 'Full sync', exact: true }).click();
    let run;
    for (let i = 0; i < 600 && !run; i++) {
      run = (await store.runs.list({ connectorId: 'contoso-entra' })).find((r) => r.kind === 'full' && !r.dryRun && r.finishedAt);
      if (!run) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(run, 'the full sync finished');
    assert.notEqual(run.status, 'failed', run.error ?? '');
    // The link of this run, once the page has caught up (until then it shows the simulation).
    await page.getByTestId('last-run').locator(`a[href="#/runs/${run.id}"]`).click();
    const items = page.getByTestId('run-items');
    await items.waitFor();
    await page.getByText('created', { exact: true }).first().waitFor();
    const chip = (op: string) => page.locator('label.mantine-Chip-label').filter({ hasText: new RegExp(`^${op}$`) });
    await chip('created').click();
    await page.waitForFunction(() => {
      const badges = Array.from(document.querySelectorAll('[data-testid="run-items"] tbody .mantine-Badge-label')).map((b) => b.textContent);
      return badges.length > 0 && badges.every((b) => b === 'created');
    }).catch(async (e) => {
      // A failure picture for the person debugging, outside the documented screenshots.
      await page.screenshot({ path: join(tmpdir(), 'idsync-debug-filter.png') });
      throw e;
    });
    await chip('created').click();
    await chip('failed').click();
    await page.waitForFunction(() => {
      const badges = Array.from(document.querySelectorAll('[data-testid="run-items"] tbody .mantine-Badge-label')).map((b) => b.textContent);
      return document.body.textContent!.includes('No user matches this filter.') || (badges.length > 0 && badges.every((b) => b === 'failed'));
    });
    await chip('failed').click();
    await page.getByLabel('Search user').fill('zzz-nobody');
    await page.getByText('No user matches this filter.').waitFor();
    await page.getByLabel('Search user').fill('');
    await items.waitFor();
    await screenshot(page, 'run-results');
    const csv = await page.evaluate(async (id) => (await fetch(`/api/v1/runs/${id}/download?format=csv`)).text(), run.id);
    assert.match(csv, /^seq,target,sourceId,user,operation,field,before,after,error/);
  });

  test('a full sync that changes nothing lists no user and says how many are unchanged, not listed', async () => {
    const before = new Set((await store.runs.list({ connectorId: 'contoso-entra' })).map((r) => r.id));
    await page.goBack();
    await page.getByRole('button', { name: 'Full sync', exact: true }).click();
    let run;
    for (let i = 0; i < 600 && !run; i++) {
      run = (await store.runs.list({ connectorId: 'contoso-entra' })).find((r) => !before.has(r.id) && r.kind === 'full' && r.finishedAt);
      if (!run) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(run, 'the second full sync finished');
    assert.equal(run.counts.usersWritten, 0, JSON.stringify(run.counts));
    const unlisted = run.counts.unchangedUnlisted ?? 0;
    assert.ok(unlisted > 0 && unlisted === run.counts.unchanged, `every unchanged user counted, not listed: ${JSON.stringify(run.counts)}`);
    await page.getByTestId('last-run').locator(`a[href="#/runs/${run.id}"]`).click();
    const note = page.getByTestId('run-unlisted');
    await note.waitFor();
    assert.match((await note.textContent()) ?? '', new RegExp(`^${unlisted} users unchanged \\(not listed\\)`));
    // The unchanged filter shows the same sentence, not an empty table claiming nobody matched.
    await page.locator('label.mantine-Chip-label').filter({ hasText: /^unchanged$/ }).click();
    await note.waitFor();
    assert.equal(await page.getByText('No user matches this filter.').count(), 0);
    assert.equal(await page.getByTestId('run-items').count(), 0, 'no row is shown for a user the run did not list');
  });

  test('a viewer can look but not change anything, and never sees a secret', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, reducedMotion: 'reduce' });
    const viewer = await ctx.newPage();
    const bodies: string[] = [];
    viewer.on('response', async (res) => {
      if (res.url().includes('/api/')) bodies.push(await res.text().catch(() => ''));
    });
    await logIn(viewer, server.url, VIEWER.username, VIEWER.password);
    await viewer.getByRole('button', { name: 'View' }).click();
    await viewer.getByRole('heading', { name: /View connector/ }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: 'Save' }).count(), 0);
    assert.equal(await viewer.getByRole('button', { name: 'Replace' }).count(), 0);
    await viewer.getByRole('button', { name: 'Show Advanced Settings' }).click();
    assert.equal(await viewer.getByRole('button', { name: 'Add mapping row' }).count(), 0);
    assert.ok(await viewer.getByRole('textbox', { name: 'Source of row 1', exact: true }).isDisabled(), "await viewer.getByRole('textbox', { name: 'Source of row 1', exact: true }).isDisabled()");
    const status = await viewer.evaluate(async () => {
      const csrf = /idsync_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '';
      const res = await fetch('/api/v1/connectors/contoso-entra', { method: 'DELETE', headers: { 'x-csrf-token': csrf } });
      return res.status;
    });
    assert.equal(status, 403);
    await viewer.goto(`${server.url}/#/connectors/contoso-entra/sync`);
    assert.ok(await viewer.getByRole('button', { name: 'Full sync', exact: true }).isDisabled(), "await viewer.getByRole('button', { name: 'Full sync', exact: true }).isDisabled()");
    const html = await viewer.content();
    for (const s of secrets) {
      assert.ok(!html.includes(s), 'a secret appeared on the page');
      assert.ok(!bodies.some((b) => b.includes(s)), 'a secret appeared in an API answer');
    }
    assert.ok(await store.connectors.get('contoso-entra'), 'the connector is still there');
    await ctx.close();
  });

  test('anyone, a viewer too, changes their own password from the header', async () => {
    const viewer = await newTestPage(browser);
    await logIn(viewer, server.url, VIEWER.username, VIEWER.password);
    await viewer.getByRole('button', { name: 'Change password' }).click();
    const dialog = viewer.getByRole('dialog', { name: 'Change your password' });
    await dialog.getByLabel('Current password').fill('not my password');
    await dialog.getByLabel(/^New password( \*)?$/).fill('viewer password 2');
    await dialog.getByLabel('New password again').fill('viewer password 2');
    await dialog.getByRole('button', { name: 'Change password' }).click();
    await dialog.getByText('wrong password').waitFor();
    await dialog.getByLabel('Current password').fill(VIEWER.password);
    await dialog.getByRole('button', { name: 'Change password' }).click();
    await dialog.getByTestId('password-changed').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    // Still logged in here; the new password is the one that works from now on.
    await viewer.getByRole('button', { name: 'Log out' }).click();
    await logIn(viewer, server.url, VIEWER.username, 'viewer password 2');
    await viewer.context().close();
  });
});
