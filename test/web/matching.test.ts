// Matching in the browser: the run page shows how a simulated first contact would be matched
// ("would link to … by email"), and the connector form's "Match existing accounts by" choice is
// what gets saved. Real server and engine against the Graph and Jira DC emulators.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { demoConnector, demoSecrets } from '../../src/cli/demo.ts';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import type { RunFinished } from '../../src/server/progress-bus.ts';
import { ADMIN, logIn, saveConnector, startBrowserUi, tearDown } from './helpers.ts';
import { unscheduled } from '../helpers/unscheduled.ts';

describe('matching in the browser', () => {
  let suite: Suite;
  let store: Store;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let bearer: string;
  const id = () => demoConnector(suite.info).id;

  before(async () => {
    suite = await startSuite({ users: 6, confluence: false });
    const c = demoConnector(suite.info);
    unscheduled(c);
    const prepare = (s: Store) => s.connectors.save(c, { secrets: demoSecrets(suite.info) }).then(() => undefined);
    ({ dataDir, store, server, browser, page } = await startBrowserUi({ ca: suite.info.graph.ca, dataDirPrefix: 'idsync-web-matching-', prepare }));
    const admin = (await server.auth.listUsers()).find((u) => u.username === ADMIN.username)!;
    bearer = (await server.auth.createToken(admin.id, 'test', 'administrator')).secret;
    await logIn(page, server.url, ADMIN.username, ADMIN.password);
  });
  after(() => tearDown({ browser, server, store, suite, dataDir }));

  test('the run page says which account a simulated first contact would link, and by what', async () => {
    const person = suite.graph.directory.org.users.find((u) => u.userType === 'Member' && !!u.mail)!;
    const handMade = suite.jira.store.createUser({ name: 'hand.made', displayName: 'Hand Made', emailAddress: person.mail! });
    const finished = new Promise<RunFinished>((resolve) => {
      const stop = server.bus.subscribe((e) => {
        if (e.type === 'run-finished') {
          stop();
          resolve(e);
        }
      });
    });
    const started = await fetch(`${server.url}/api/v1/connectors/${id()}/sync`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'full', dryRun: true }) });
    assert.equal(started.status, 202, await started.text());
    const run = await finished;
    await page.goto(`${server.url}/#/runs/${run.runId}`);
    const row = page.getByTestId('run-items').locator('tr', { hasText: person.id });
    await row.waitFor();
    assert.equal(await row.getByTestId('item-match').innerText(), `would link to hand.made (key ${handMade.key}) by email "${person.mail}"`);
    const created = page.getByTestId('run-items').locator('tr', { hasText: 'created' }).first();
    assert.match(await created.getByTestId('item-match').innerText(), /^would create: no account has username ".+" or email ".+"$/);
  });

  test('the connector form saves the chosen match order, and "default" removes it again', async () => {
    await page.goto(`${server.url}/#/connectors/${id()}`);
    await page.getByRole('heading', { name: /Edit connector/ }).waitFor();
    await page.getByRole('button', { name: 'Show Advanced Settings' }).click();
    const select = page.getByRole('textbox', { name: 'Match existing accounts by' });
    assert.equal(await select.inputValue(), 'Username, then e-mail (default)');
    await select.click();
    await page.getByRole('option', { name: 'E-mail only' }).click();
    await saveConnector(page, 'Saved.');
    assert.deepEqual((await store.connectors.get(id()))!.config.targets[0]!.matching, { by: ['email'] });

    await select.click();
    await page.getByRole('option', { name: 'Username, then e-mail (default)' }).click();
    // "Saved." is still shown from the first save: wait for the store instead.
    const saved = page.waitForResponse((r) => r.url().includes(`/api/v1/connectors/${id()}`) && r.request().method() === 'PUT');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    assert.equal((await saved).status(), 200);
    assert.equal((await store.connectors.get(id()))!.config.targets[0]!.matching, undefined);
  });
});
