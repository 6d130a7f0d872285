// Browser-test plumbing: Debian's chromium through playwright-core (no browser download), the
// built admin UI (built once when missing) and screenshots for the README.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { hashPassword } from '../../src/server/passwords.ts';
import { Store } from '../../src/store/index.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function chromiumPath(): string | undefined {
  return [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('chromium is not installed: apt-get install -y chromium (scripts/setup.sh does this for CI)');
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
}

/** Builds web/dist unless it is there already (the test set-up normally runs npm run build:web). */
export function ensureWebBuilt(): void {
  if (existsSync(`${ROOT}web/dist/index.html`)) return;
  execFileSync(process.execPath, [`${ROOT}node_modules/vite/bin/vite.js`, 'build', '--config', `${ROOT}web/vite.config.ts`, '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * A page as the tests use it: desktop size, reduced motion (the UI then opens sections at once,
 * so no click lands mid-animation) and, when `apiBodies` is given, every /api/ answer recorded
 * there so a test can check that no secret ever reached the browser.
 */
export async function newTestPage(browser: Browser, apiBodies?: string[], viewport = { width: 1440, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport, reducedMotion: 'reduce' });
  page.setDefaultTimeout(30_000);
  if (apiBodies) {
    page.on('response', async (res) => {
      if (res.url().includes('/api/')) apiBodies.push(await res.text().catch(() => ''));
    });
  }
  return page;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: false });
}

export async function logIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Connectors' }).waitFor();
}

/** One row of the Test connection report. */
export interface CheckRow {
  end: string;
  check: string;
  status: string;
  message: string;
}

/** The save problem shown with a field: Mantine ties it to the input through aria-describedby. */
export async function errorOf(field: Locator): Promise<string> {
  const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter((x) => x.endsWith('-error'));
  if (ids.length === 0) return '';
  return (await field.page().locator(`[id="${ids[0]}"]`).textContent()) ?? '';
}

/** The input labelled exactly `label` (a required field's label ends in an asterisk). */
export function fieldByLabel(page: Page, label: string): Locator {
  return page.getByLabel(new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\*)?$`));
}

/** Clicks Save on the connector form and waits for the message it expects. */
export async function saveConnector(page: Page, expect: 'Saved.' | RegExp): Promise<void> {
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByTestId('save-message').getByText(expect).waitFor();
}

/** Clicks Test connection and returns the report's rows once the page shows this test's answer. */
export async function testConnection(page: Page, connectorId: string): Promise<{ title: string; rows: CheckRow[] }> {
  const answered = page.waitForResponse((r) => r.url().endsWith(`/api/v1/connectors/${connectorId}/test`));
  await page.getByRole('button', { name: 'Test connection' }).click();
  await answered;
  // The button stops loading in the same render that shows the new report.
  await page.waitForFunction(() => {
    const b = Array.from(document.querySelectorAll('button')).find((x) => x.textContent === 'Test connection');
    return b && !b.hasAttribute('data-loading');
  });
  const report = page.getByTestId('test-report');
  const title = (await report.locator('.mantine-Alert-title').textContent()) ?? '';
  const rows = await report.locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const [end, check, status, message] = Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '');
      return { end: end!, check: check!, status: status!, message: message! };
    }),
  );
  return { title, rows };
}

/** Clicks "Add mapping row" on a target's table and returns the new row's number (1-based). */
export async function addMappingRow(page: Page, targetId = 'jira'): Promise<number> {
  const rows = page.getByTestId(`mapping-table-${targetId}`).locator('tbody tr');
  const add = page.getByRole('button', { name: 'Add mapping row' });
  await add.waitFor();
  const before = await rows.count();
  await add.click();
  const source = page.getByRole('textbox', { name: `Source of row ${before + 1}`, exact: true });
  await source.waitFor({ timeout: 10_000 }).catch(async (e) => {
    // A failure picture and the table's state for the person debugging, outside docs/.
    await page.screenshot({ path: join(tmpdir(), 'idsync-debug-add-row.png'), fullPage: true });
    throw new Error(`row ${before + 1} did not appear after "Add mapping row" (rows now: ${await rows.count()}, picture in ${tmpdir()}/idsync-debug-add-row.png): ${(e as Error).message}`);
  });
  return before + 1;
}

/** Texts shown cut short (ellipsis, clipped) among the elements `selector` finds. */
export async function clippedTexts(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).evaluateAll((els) =>
    els.filter((e) => (e as HTMLElement).offsetParent !== null && e.scrollWidth > e.clientWidth + 1).map((e) => (e as HTMLInputElement).value ?? e.textContent ?? ''),
  );
}

/** Stops what a browser test started, in the order that lets each part close cleanly. */
export async function tearDown(parts: { browser?: Browser; server?: { close(): Promise<unknown> }; store?: { close(): Promise<unknown> }; suite?: { close(): Promise<unknown> }; dataDir?: string }): Promise<void> {
  await parts.browser?.close();
  await parts.server?.close();
  await parts.store?.close();
  await parts.suite?.close();
  if (parts.dataDir) rmSync(parts.dataDir, { recursive: true, force: true });
}

/** The administrator every browser suite logs in as. */
export const ADMIN = { username: 'admin', password: 'admin password 1' };

export interface BrowserUi {
  dataDir: string;
  store: Store;
  server: RunningServer;
  browser: Browser;
  page: Page;
}

/**
 * What each browser suite starts after its emulators: a data directory and store of its own
 * (`prepare` saves connectors into it before the server starts), a server that trusts the
 * emulators' private CA (as NODE_EXTRA_CA_CERTS would in production) and retries fast, the
 * administrator ADMIN, and a browser with a test page (see newTestPage). Stop it with tearDown().
 */
export async function startBrowserUi(opts: {
  ca: string | undefined;
  dataDirPrefix: string;
  prepare?(store: Store): Promise<void>;
  apiBodies?: string[];
  viewport?: { width: number; height: number };
}): Promise<BrowserUi> {
  ensureWebBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), opts.dataDirPrefix));
  const started: Partial<BrowserUi> = { dataDir };
  try {
    started.store = await Store.open({ dataDir });
    await opts.prepare?.(started.store);
    started.server = await startServer({ store: started.store, port: 0, logger: false, connectorContext: { ca: opts.ca, fastRetries: true } });
    await started.server.auth.createUser(ADMIN.username, await hashPassword(ADMIN.password), 'administrator');
    started.browser = await launchBrowser();
    started.page = await newTestPage(started.browser, opts.apiBodies, opts.viewport);
    return started as BrowserUi;
  } catch (e) {
    await tearDown(started);
    throw e;
  }
}
