// Browser-test plumbing: Debian's chromium through playwright-core (no browser download), the
// built admin UI (built once when missing) and screenshots for the README.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

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
