// The group rules editor in a real browser against the emulators: rows are added, reordered and
// removed, the preview on a sample user shows which row decided each group, a broken pattern is
// shown at its field (in the preview and on Save), and what is saved is what the editor shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { generateOrg } from '../../emulators/org/index.ts';
import { demoConnector, demoSecrets } from '../../src/cli/demo.ts';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import { ADMIN, errorOf, logIn, startBrowserUi, tearDown } from './helpers.ts';
import { unscheduled } from '../helpers/unscheduled.ts';

const USERS = 30;

describe('group rules editor', () => {
  let suite: Suite;
  let store: Store;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let subject: { upn: string; dept: string };

  before(async () => {
    suite = await startSuite({ users: USERS, confluence: false });
    const org = generateOrg({ users: USERS, seed: 7 });
    const u = org.users.find((x) => x.mail && x.accountEnabled && !x.userPrincipalName.includes('#EXT#') && org.groups.some((g) => g.displayName.startsWith('dept-') && g.members.includes(x.id)))!;
    subject = { upn: u.userPrincipalName, dept: org.groups.find((g) => g.displayName.startsWith('dept-') && g.members.includes(u.id))!.displayName };
    const c = demoConnector(suite.info);
    unscheduled(c);
    // The source's groups go through the group rules alone.
    c.targets[0]!.mapping = c.targets[0]!.mapping.filter((r) => r.target !== 'groups');
    const prepare = (s: Store) => s.connectors.save(c, { secrets: demoSecrets(suite.info) }).then(() => undefined);
    ({ dataDir, store, server, browser, page } = await startBrowserUi({ ca: suite.info.graph.ca, dataDirPrefix: 'idsync-web-group-rules-', prepare }));
    await logIn(page, server.url, ADMIN.username, ADMIN.password);
    await page.goto(`${server.url}#/connectors/contoso-entra`);
    await page.getByRole('heading', { name: /Edit connector/ }).waitFor();
    await page.getByRole('button', { name: 'Show Advanced Settings' }).click();
    await page.getByTestId('group-rules-jira').waitFor();
  });

  after(() => tearDown({ browser, server, store, suite, dataDir }));

  const editor = () => page.getByTestId('group-rules-jira');
  const field = (row: number, what: string) => editor().getByRole('textbox', { name: `row ${row} ${what}`, exact: true });
  const choose = async (row: number, what: string, option: string) => {
    await field(row, what).click();
    await page.getByRole('option', { name: option, exact: true }).click();
  };
  /** Runs the preview and returns "group → row: outcome → name" lines and the result badges. */
  const preview = async () => {
    const answered = page.waitForResponse((r) => r.url().endsWith('/group-rules/preview'));
    await editor().getByRole('button', { name: 'Preview groups' }).click();
    await answered;
    const table = page.getByTestId('group-rules-preview-jira');
    await table.waitFor();
    const lines = await table.getByTestId('group-decision').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '').join(' | ')));
    const result = (await page.getByTestId('group-rules-result-jira').textContent().catch(() => '')) ?? '';
    return { lines, result };
  };

  test('rows are added and reordered, and the preview shows which row decided each group', async () => {
    await editor().getByRole('button', { name: 'Add group rule' }).click();
    await field(1, 'pattern').fill('dept-*');
    await choose(1, 'rename', 'Template');
    await field(1, 'new name').fill('jira-$1');
    await editor().getByRole('button', { name: 'Add group rule' }).click();
    await choose(2, 'action', 'Exclude');
    await field(2, 'pattern').fill(subject.dept);
    const defaults = editor().getByRole('textbox', { name: 'Default groups' });
    await defaults.fill('jira-software-users');
    await defaults.press('Enter');

    await page.getByRole('textbox', { name: 'Preview groups of user', exact: true }).fill(subject.upn);
    const renamed = `jira-${subject.dept.slice('dept-'.length)}`;
    let p = await preview();
    assert.ok(p.lines.includes(`${subject.dept} | row 1 | included | ${renamed}`), `the include row decides first: ${p.lines.join('\n')}`);
    assert.ok(p.lines.includes('— | default groups | default group | jira-software-users'), p.lines.join('\n'));
    assert.match(p.result, new RegExp(renamed));
    assert.match(p.result, /jira-software-users/);
    assert.ok(p.lines.some((l) => / \| no row \| dropped \(no row matched\) \| —$/.test(l)), `a group no row matches is dropped: ${p.lines.join('\n')}`);

    // The exclude row moved up now decides first.
    await editor().getByRole('button', { name: 'move row 2 up' }).click();
    assert.equal(await field(1, 'pattern').inputValue(), subject.dept);
    p = await preview();
    assert.ok(p.lines.includes(`${subject.dept} | row 1 | excluded | —`), p.lines.join('\n'));
    assert.doesNotMatch(p.result, new RegExp(renamed));
  });

  test('a broken pattern shows at its field in the preview and on Save; the fixed rules are saved as shown', async () => {
    await choose(2, 'match by', 'Regular expression');
    await field(2, 'pattern').fill('^dept-(');
    await preview();
    assert.match(await errorOf(field(2, 'pattern')), /not a valid regular expression/);

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('save-message').getByText(/Not saved/).waitFor();
    assert.match(await errorOf(field(2, 'pattern')), /not a valid regular expression/);
    assert.equal((await store.connectors.get('contoso-entra'))!.config.targets[0]!.groupRules, undefined, 'nothing was saved');

    await field(2, 'pattern').fill('^dept-(.+)$');
    await editor().getByRole('button', { name: 'Add group rule' }).click();
    await field(3, 'pattern').fill('vpn');
    await editor().getByRole('button', { name: 'remove group rule 3' }).click();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('save-message').getByText('Saved.').waitFor();
    const saved = (await store.connectors.get('contoso-entra'))!.config.targets[0]!.groupRules;
    assert.deepEqual(saved, {
      rules: [{ exclude: subject.dept }, { include: { regex: '^dept-(.+)$' }, rename: 'jira-$1' }],
      defaultGroups: ['jira-software-users'],
    });
  });
});
