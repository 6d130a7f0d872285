// The connector form and the run pages as an administrator meets them at 1366 × 768, in a real
// browser against the emulators: the target picker asks for a property's key, unsaved changes
// are not lost silently, problems show where they are (and only once), typing in a 30-row
// mapping renders one row, and runs say who started them, what they wrote and when, the same way
// on every page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { generateOrg } from '../../emulators/org/index.ts';
import { demoConnector, demoSecrets } from '../../src/cli/demo.ts';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import { emptyCounts } from '../../src/store/runs.ts';
import { addMappingRow, ADMIN, clippedTexts, errorOf, fieldByLabel, logIn, screenshot, startBrowserUi, tearDown } from './helpers.ts';
import { unscheduled } from '../helpers/unscheduled.ts';

const USERS = 30;
const LAPTOP = { width: 1366, height: 768 };
const WIDE_ROWS = 30;

const source = (page: Page, row: number) => page.getByRole('textbox', { name: `Source of row ${row}`, exact: true });
const target = (page: Page, row: number) => page.getByRole('textbox', { name: `Target of row ${row}`, exact: true });

/** The element that shows a field's problem (Mantine ties it through aria-describedby). */
async function errorElement(field: Locator): Promise<Locator> {
  let id: string | undefined;
  for (let i = 0; i < 50 && !id; i++) {
    id = ((await field.getAttribute('aria-describedby')) ?? '').split(/\s+/).find((x) => x.endsWith('-error'));
    if (!id) await field.page().waitForTimeout(100);
  }
  assert.ok(id, 'the field shows a problem');
  return field.page().locator(`[id="${id}"]`);
}

/** Waits until `read` gives `expected`, and says what it gave last when it never does. */
async function until<T>(read: () => Promise<T>, expected: T, what: string): Promise<void> {
  let last: T | undefined;
  for (let i = 0; i < 50; i++) {
    last = await read();
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(last, expected, what);
}

async function openAdvanced(page: Page, connectorId: string): Promise<void> {
  await page.goto(`${page.url().split('#')[0]}#/connectors/${connectorId}`);
  await page.getByRole('heading', { name: /Edit connector/ }).waitFor();
  await page.getByRole('button', { name: 'Show Advanced Settings' }).click();
  await page.getByTestId('mapping-table-jira').waitFor();
}

/** The next answer of the live mapping check. */
const liveCheck = (page: Page) => page.waitForResponse((r) => r.url().endsWith('/api/v1/mapping/validate'));

async function waitForRun(store: Store, match: (r: { kind: string; dryRun: boolean; finishedAt: string | null }) => boolean, known: Set<string>) {
  for (let i = 0; i < 600; i++) {
    const run = (await store.runs.list({ connectorId: 'contoso-entra' })).find((r) => !known.has(r.id) && r.finishedAt && match(r));
    if (run) return run;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the run did not finish');
}

describe('connector form and run pages at 1366 px', () => {
  let suite: Suite;
  let store: Store;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let subject: { upn: string };

  before(async () => {
    suite = await startSuite({ users: USERS, confluence: false });
    const org = generateOrg({ users: USERS, seed: 7 });
    const u = org.users.find((x) => x.mail && x.accountEnabled && !x.userPrincipalName.includes('#EXT#'))!;
    subject = { upn: u.userPrincipalName };
    const secrets = demoSecrets(suite.info);
    // No scheduled run in the background: the runs the pages show are the ones this test starts.
    const quiet = () => unscheduled(demoConnector(suite.info));
    // A connector with 30 mapping rows, for typing.
    const wide = quiet();
    wide.id = 'wide';
    wide.name = 'Thirty rows';
    const rows = wide.targets[0]!.mapping.filter((r) => !r.target.startsWith('property.'));
    for (let n = rows.length; n < WIDE_ROWS; n++) rows.push({ target: `property.p${n}`, source: 'department', flow: 'always', whenEmpty: 'keep' });
    wide.targets[0]!.mapping = rows;
    const prepare = async (s: Store) => {
      await s.connectors.save(quiet(), { secrets });
      await s.connectors.save(wide, { secrets });
    };
    ({ dataDir, store, server, browser, page } = await startBrowserUi({ ca: suite.info.graph.ca, dataDirPrefix: 'idsync-web-form-', prepare, viewport: LAPTOP }));
    await logIn(page, server.url, ADMIN.username, ADMIN.password);
  });

  after(() => tearDown({ browser, server, store, suite, dataDir }));

  test('picking property.<key> in the target picker asks for the key; the placeholder itself is refused on Save', async () => {
    await openAdvanced(page, 'contoso-entra');
    const row = await addMappingRow(page);
    await source(page, row).fill('department');
    await target(page, row).click();
    await target(page, row).pressSequentially('prop');
    await page.getByRole('option', { name: 'property.<key>' }).click();
    assert.equal(await target(page, row).inputValue(), 'property.', 'the prefix is filled in, not the placeholder');
    await page.getByTestId(`mapping-row-${row - 1}`).getByText(/Type the key after property\./).waitFor();
    assert.ok(await target(page, row).evaluate((e) => e === document.activeElement), 'the field keeps the focus for the key');
    await page.keyboard.type('costCenter');
    assert.equal(await target(page, row).inputValue(), 'property.costCenter');

    // Typed (or pasted) as it is shown, the placeholder does not save.
    await target(page, row).fill('property.<key>');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('save-message').getByText(/Not saved/).waitFor();
    assert.match(await errorOf(target(page, row)), /"<key>" is a placeholder/);
    const saved = (await store.connectors.get('contoso-entra'))!.config;
    assert.ok(!saved.targets[0]!.mapping.some((r) => r.target.includes('<')), 'nothing with the placeholder was saved');
    await page.getByRole('button', { name: `Delete row ${row}` }).click();
  });

  test('after Preview the Apply and When-empty choices stay readable at 1366 px', async () => {
    await page.getByRole('textbox', { name: 'Preview with user', exact: true }).fill(subject.upn);
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    await page.getByTestId('preview-0').getByTestId('preview-value').waitFor();
    const table = page.getByTestId('mapping-table-jira');
    await table.scrollIntoViewIfNeeded();
    const selects = '[data-testid="mapping-table-jira"] input[aria-label^="Apply row"], [data-testid="mapping-table-jira"] input[aria-label^="When empty"]';
    assert.ok((await page.locator(selects).count()) > 2, 'the table has rows');
    assert.deepEqual(await clippedTexts(page, selects), [], 'no choice is cut short');
    await screenshot(page, 'mapping-preview-1366');
  });

  test('a new row is not red before anything is typed; problems are readable, said once, and not covered by the picker', async () => {
    const checked = liveCheck(page);
    const row = await addMappingRow(page);
    await checked;
    await page.waitForTimeout(100); // the answer's render
    assert.equal(await errorOf(source(page, row)), '', 'an untouched empty source is not an error yet');
    assert.equal(await errorOf(target(page, row)), '', 'an untouched empty target is not an error yet');
    assert.notEqual(await source(page, row).getAttribute('aria-invalid'), 'true', 'not marked invalid');

    // A syntax error: one position, in readable type.
    await target(page, row).fill('property.lowerMail');
    const answered = liveCheck(page);
    await source(page, row).fill('$lowercase(mail');
    await page.keyboard.press('Tab');
    await answered;
    const syntax = await errorElement(source(page, row));
    await syntax.getByText(/at position \d+/).waitFor();
    const text = (await syntax.textContent()) ?? '';
    assert.equal(text.match(/position|character/g)?.length, 1, `one position: ${text}`);
    const style = await syntax.evaluate((e) => ({ font: getComputedStyle(e).fontFamily, size: parseFloat(getComputedStyle(e).fontSize) }));
    assert.doesNotMatch(style.font, /mono/i, 'the message is not in monospace');
    assert.ok(style.size >= 13, `the message is readable: ${style.size}px`);

    // An unknown attribute, with the picker open on its row: the message stays visible.
    const typo = liveCheck(page);
    await source(page, row).fill('departmen');
    await typo;
    const unknown = await errorElement(source(page, row));
    await unknown.getByText(/unknown source attribute/).waitFor();
    await source(page, row).click();
    const dropdown = page.locator('.mantine-Autocomplete-dropdown:visible');
    await dropdown.getByRole('option', { name: 'department', exact: true }).waitFor();
    const [a, b] = [await dropdown.boundingBox(), await unknown.boundingBox()];
    assert.ok(a && b, 'both are on screen');
    const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    assert.equal(overlap, false, `the picker ${JSON.stringify(a)} covers the message ${JSON.stringify(b)}`);
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: `Delete row ${row}` }).click();
  });

  test('a refused Save shows cron and time-zone problems at their fields, once each, and scrolls to the first problem', async () => {
    // Valid first: the next runs read like every other date on the page.
    await fieldByLabel(page, 'Cron expression').fill('0 2 * * *');
    await fieldByLabel(page, 'Time zone').fill('UTC');
    const next = page.getByTestId('schedule-description').getByText(/^Next runs:/);
    const described = await page.evaluate(async () => (await (await fetch('/api/v1/schedule/describe?cron=0%202%20*%20*%20*&timezone=UTC')).json()).next as string[]);
    const expected = await page.evaluate((list) => list.map((n) => new Date(n).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })).join(' · '), described);
    await until(() => next.textContent(), `Next runs: ${expected}`, 'the next runs in the one date format');

    await fieldByLabel(page, 'Cron expression').fill('61 * * * *');
    await fieldByLabel(page, 'Time zone').fill('Mars/Olympus_Mons');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('save-message').getByText(/Not saved/).waitFor();
    const cron = fieldByLabel(page, 'Cron expression');
    await page.waitForFunction(() => {
      const el = document.querySelector('[aria-invalid="true"]');
      if (!el) return false;
      const r = el.getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight;
    }, undefined, { timeout: 5_000 }).catch(() => { throw new Error('the first problem was not brought into view'); });
    assert.match(await errorOf(cron), /not a valid cron expression/);
    assert.match(await errorOf(fieldByLabel(page, 'Time zone')), /is not a time zone/);
    const body = (await page.locator('body').textContent()) ?? '';
    assert.equal(body.split('is not a time zone').length - 1, 1, 'the time-zone problem is said once');
    assert.equal(body.split('not a valid cron expression').length - 1, 1, 'the cron problem is said once');
    await screenshot(page, 'schedule-problems');
    await cron.fill('0 * * * *');
    await fieldByLabel(page, 'Time zone').fill('UTC');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('save-message').getByText('Saved.').waitFor();
  });

  test('leaving with unsaved changes asks first, in the app and in the browser', async () => {
    const name = fieldByLabel(page, 'Name');
    await name.click();
    await name.press('End');
    await name.pressSequentially(' (edited)');
    const asked: string[] = [];
    page.once('dialog', (d) => { asked.push(d.type()); void d.dismiss(); });
    await page.getByRole('link', { name: '← Connectors' }).click();
    await page.waitForTimeout(200);
    assert.deepEqual(asked, ['confirm']);
    await page.getByRole('heading', { name: /Edit connector/ }).waitFor();
    assert.match(await name.inputValue(), /\(edited\)$/, 'the change is still there');

    // Closing or reloading the tab: the page asks the browser to confirm (the event's default
    // prevented is what makes Chrome ask; its own dialog needs a user gesture headless Chrome
    // does not always count).
    const asksBrowser = () => page.evaluate(() => {
      const e = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(e);
      return e.defaultPrevented;
    });
    assert.equal(await asksBrowser(), true, 'unsaved changes: the browser is asked to confirm');

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('link', { name: '← Connectors' }).click();
    await page.getByRole('heading', { name: 'Connectors' }).waitFor();
    assert.equal((await store.connectors.get('contoso-entra'))!.config.name, 'Contoso (emulated Entra ID)', 'nothing was saved');
    assert.equal(await asksBrowser(), false, 'nothing unsaved: the browser is not asked');
  });

  test('typing in a mapping row of a 30-row connector renders that row only', async () => {
    await openAdvanced(page, 'wide');
    const rows = page.getByTestId('mapping-table-jira').locator('tbody tr');
    assert.equal(await rows.count(), WIDE_ROWS);
    const renders = () => rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-renders'))));
    await page.waitForTimeout(800); // the first live check has answered
    const before = await renders();
    assert.ok(before.every((n) => n > 0), `every row counts its renders: ${JSON.stringify(before)}`);
    const typed = 'companyName & "-x-"';
    const row = 15;
    await source(page, row).fill('');
    const committed = page.waitForRequest((r) => r.url().endsWith('/api/v1/mapping/validate') && (r.postData() ?? '').includes('-x-'));
    const started = Date.now();
    await source(page, row).pressSequentially(typed);
    const typingMs = Date.now() - started;
    await (await committed).response();
    await page.waitForTimeout(200);
    assert.equal(await source(page, row).inputValue(), typed, 'every character arrived, in order');
    const afterTyping = await renders();
    const others = afterTyping.map((n, i) => (i === row - 1 ? 0 : n - before[i]!)).filter((d) => d !== 0);
    assert.deepEqual(others, [], `other rows rendered again while one was typed in: ${JSON.stringify(afterTyping)} vs ${JSON.stringify(before)}`);
    assert.ok(afterTyping[row - 1]! > before[row - 1]!, 'the typed row rendered');
    // A figure for the report, not a timed assertion.
    console.log(`# typing ${typed.length} characters into row ${row} of ${WIDE_ROWS}: ${typingMs} ms (${(typingMs / typed.length).toFixed(0)} ms per key, playwright's own pacing included)`);
  });

  test('runs from the UI: the trigger says so, the Last run box follows a single-user sync, one date format and one "empty"', async () => {
    page.once('dialog', (d) => void d.accept()); // the typing above is left unsaved
    await page.goto(`${server.url}/#/connectors/contoso-entra/sync`);
    await page.getByRole('button', { name: 'Simulate', exact: true }).click();
    const known = new Set<string>();
    const simulation = await waitForRun(store, (r) => r.dryRun, known);
    known.add(simulation.id);
    await page.getByTestId('last-run').locator(`a[href="#/runs/${simulation.id}"]`).waitFor();

    await page.getByRole('textbox', { name: 'User', exact: true }).fill(subject.upn);
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Sync user' }).click();
    await page.getByTestId('user-report').getByText('Changes made').waitFor({ timeout: 60_000 });
    const single = await waitForRun(store, (r) => r.kind === 'user', known);
    assert.equal(single.trigger, 'ui');
    const last = page.getByTestId('last-run');
    await last.locator(`a[href="#/runs/${single.id}"]`).waitFor({ timeout: 5_000 }).catch(() => { throw new Error('the Last run box still shows the run before the single-user sync'); });
    await last.getByText(/user /).first().waitFor();
    const report = (await page.getByTestId('user-report').textContent()) ?? '';
    assert.match(report, /\(empty\) →/, 'a created user\'s fields were empty before');
    assert.doesNotMatch(report, /\(none\)|∅|—/, `one word for empty: ${report}`);

    await page.goto(`${server.url}/#/runs`);
    const list = page.getByTestId('run-list');
    await list.waitFor();
    assert.ok((await list.getByText('admin UI', { exact: true }).count()) >= 2, 'runs started here say so');
    assert.deepEqual(await clippedTexts(page, '.mantine-Badge-label'), [], 'no status badge is cut');

    await page.goto(`${server.url}/#/runs/${single.id}`);
    await page.getByTestId('run-items').waitFor();
    const header = (await page.locator('main').textContent()) ?? '';
    assert.match(header, /1 users written|\d+ users written/);
    assert.doesNotMatch(header, /write requests/);
    assert.match(header, /started from the admin UI/);
    assert.doesNotMatch(header, /∅|\(none\)|—/, 'one word for empty');
    assert.deepEqual(await clippedTexts(page, '.mantine-Badge-label'), [], 'the status badge is whole at 1366 px');
    const started = await page.evaluate((iso) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }), single.startedAt);
    assert.ok(header.includes(`Started ${started}`), `the run's date in the one format: ${header}`);
  });

  test('a long display name wraps in its column and leaves the before → after column its room', async () => {
    const id = 'long-names-run';
    await store.runs.create({ id, connectorId: 'contoso-entra', kind: 'full', dryRun: false, reconcile: false, trigger: 'ui', userRef: null, startedAt: new Date().toISOString() });
    const label = `Maximiliane-Theodora-Alexandrina-Wilhelmina von und zu Hohenzollern-Sigmaringen-Schwarzenberg-Liechtenstein`;
    await store.runs.addItems(id, [{
      seq: 1, sourceId: '3f2c9a7e-0000-4000-8000-00000000abcd', label: label.replace(/ /g, '-'), targetId: 'jira', operation: 'updated', error: null, details: null,
      changes: [{ field: 'property.department', before: 'Research and Development', after: 'Research and Development, Applied Machine Learning' }],
    }]);
    await store.runs.update(id, { status: 'succeeded', finishedAt: new Date().toISOString(), counts: { ...emptyCounts(), read: 1, updated: 1, usersWritten: 1, writes: 1 } });
    await page.goto(`${server.url}/#/runs/${id}`);
    const table = page.getByTestId('run-items');
    await table.waitFor();
    const widths = await table.locator('tbody tr').first().locator('td').evaluateAll((tds) => tds.map((td) => td.getBoundingClientRect().width));
    const tableWidth = (await table.boundingBox())!.width;
    assert.ok(widths[3]! >= 360, `before → after keeps its room: ${widths.map(Math.round).join(' | ')}`);
    assert.ok(widths[0]! <= tableWidth * 0.3, `the name wraps in its column: ${widths.map(Math.round).join(' | ')}`);
    assert.deepEqual(await clippedTexts(page, '[data-testid="run-items"] td'), [], 'nothing in the table is cut');
    await screenshot(page, 'run-long-name-1366');
  });
});
