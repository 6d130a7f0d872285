// Live progress in a real browser: the Sync page shows a run's progress as the server pushes it
// (server-sent events), without asking for it: while progress arrives, the page sends no request.
// And the schedule's incremental interval field, checked as it is typed and saved.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { harness, ADMIN_PASSWORD, type Harness } from '../api/helpers.ts';
import { newConnectorInput } from '../api/fakes.ts';
import { ensureWebBuilt, errorOf, fieldByLabel, launchBrowser, logIn, newTestPage } from './helpers.ts';

describe('live run progress in the browser', { timeout: 120_000 }, () => {
  let h: Harness;
  let url: string;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];

  before(async () => {
    ensureWebBuilt();
    h = await harness();
    assert.equal((await h.admin.post('/api/v1/connectors', { config: newConnectorInput() })).status, 201);
    url = await h.server.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    page = await newTestPage(browser);
    page.on('request', (r) => {
      if (r.url().includes('/api/')) requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    await logIn(page, url, 'admin', ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await h?.dispose();
  });

  test('progress and the end of a run arrive pushed, with no polling', async () => {
    const stream = page.waitForResponse((r) => r.url().endsWith('/api/v1/events?connectorId=contoso'));
    await page.goto(`${url}/#/connectors/contoso/sync`);
    await page.getByRole('heading', { name: 'Sync contoso' }).waitFor();
    assert.equal((await stream).status(), 200, 'the page opened the event stream');
    h.engine.hold();
    await page.getByRole('button', { name: 'Full sync', exact: true }).click();
    const live = page.getByTestId('live-progress');
    await live.getByText('Users read: 1').waitFor();
    const [active] = h.server.bus.snapshot('contoso');
    assert.ok(active?.active, 'the bus knows the run in progress');

    const seen = requests.length;
    h.server.bus.publish({ type: 'run-progress', connectorId: 'contoso', runId: active.active.runId, progress: { phase: 'reading', read: 1234, planned: 56, written: 7, failed: 1 } });
    await live.getByText('Users read: 1234').waitFor();
    assert.equal(await live.getByText('Written: 7').count(), 1, 'every count shown as pushed');
    assert.deepEqual(requests.slice(seen), [], 'the page asked for nothing: the progress was pushed');

    h.engine.release();
    await page.getByTestId('last-run').getByText('Last run: partial').waitFor();
    assert.deepEqual(requests.slice(seen).filter((r) => r.endsWith('/activity')), [], 'the end of the run arrived pushed too (only the run record was read)');
  });

  test('while the event stream is down the page polls, and takes pushed progress again once it is back', async () => {
    // A page whose event streams fail (as behind a proxy that refuses them) until told otherwise:
    // they go to a path that answers 404, which an EventSource gives up on.
    const down = await newTestPage(browser);
    await down.addInitScript(() => {
      const Real = window.EventSource;
      (window as any).streamsDown = true;
      window.EventSource = class extends Real {
        constructor(u: string | URL, init?: EventSourceInit) {
          super((window as any).streamsDown ? '/api/v1/events-unavailable' : u, init);
        }
      };
    });
    try {
      await logIn(down, url, 'admin', ADMIN_PASSWORD);
      await down.goto(`${url}/#/connectors/contoso/sync`);
      await down.getByRole('heading', { name: 'Sync contoso' }).waitFor();
      h.engine.hold();
      const polled = down.waitForRequest((r) => r.url().endsWith('/api/v1/connectors/contoso/activity'));
      await down.getByRole('button', { name: 'Full sync', exact: true }).click();
      await polled;
      // No event reaches this page: only the fallback's reads can show the run.
      await down.getByTestId('live-progress').getByText('Users read: 1').waitFor();

      const back = down.waitForResponse((r) => r.url().endsWith('/api/v1/events?connectorId=contoso') && r.status() === 200);
      await down.evaluate(() => ((window as any).streamsDown = false));
      await back;
      const [state] = h.server.bus.snapshot('contoso');
      h.server.bus.publish({ type: 'run-progress', connectorId: 'contoso', runId: state!.active!.runId, progress: { phase: 'reading', read: 4321, planned: 0, written: 0, failed: 0 } });
      await down.getByTestId('live-progress').getByText('Users read: 4321').waitFor();
    } finally {
      h.engine.release();
      await down.close();
    }
  });

  test('the schedule takes an incremental interval, checked as it is typed', async () => {
    await page.goto(`${url}/#/connectors/contoso`);
    await page.getByRole('heading', { name: /Edit connector/ }).waitFor();
    await page.getByRole('button', { name: 'Show Advanced Settings' }).click();
    const field = fieldByLabel(page, 'Incremental sync every');
    await field.fill('5s');
    assert.match(await errorOf(field), /at least 10s/);
    await field.fill('every minute');
    assert.match(await errorOf(field), /use a duration such as 30s, 1m, 15m or 1h, or off/);
    await field.fill('15m');
    assert.equal(await errorOf(field), '', 'a valid interval has no problem');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await h.store.connectors.get('contoso'))?.config.schedule?.incremental, '15m');
    await field.fill('off');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await h.store.connectors.get('contoso'))?.config.schedule?.incremental, false, '"off" turns incremental sync off');
  });
});
