// The Cloud targets' accessGroups setting: validated, narrowing "remove access" when empty, and
// checked against the site by test(), for Jira Cloud and Confluence Cloud alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startJiraCloudEmulator } from '../../emulators/jira-cloud/index.ts';
import { startConfluenceCloudEmulator } from '../../emulators/confluence-cloud/index.ts';
import { capabilitiesOf } from './registry.ts';
import { definition as jiraCloud } from './jira-cloud/index.ts';
import { definition as confluenceCloud } from './confluence-cloud/index.ts';

const base = { baseUrl: 'https://acme.atlassian.net', email: 'admin@example.com', apiToken: { env: 'X' } };

for (const def of [jiraCloud, confluenceCloud]) {
  test(`${def.type}: accessGroups is validated; without it "remove access" is declared false with what to set`, () => {
    const parse = (accessGroups?: unknown) => def.configSchema.safeParse({ id: 'c', type: def.type, ...base, ...(accessGroups === undefined ? {} : { accessGroups }) });
    assert.deepEqual(parse().data?.accessGroups, [], 'defaults to none');
    assert.equal(parse(['product-users', 'PRODUCT-USERS']).success, false, 'a group twice (ignoring case) is refused');
    assert.equal(parse(['']).success, false, 'an empty name is refused');
    assert.equal(parse('product-users').success, false, 'a list, not a string');

    const none = capabilitiesOf(def, parse().data);
    assert.equal(none.lifecycle.removeAccess, false);
    assert.match(none.lifecycle.reasons?.removeAccess ?? '', /set accessGroups/);
    const some = capabilitiesOf(def, parse(['product-users']).data);
    assert.equal(some.lifecycle.removeAccess, true);
    assert.equal(def.capabilities.lifecycle.removeAccess, true, 'the type can, with access groups (README table)');
    for (const action of ['disable', 'delete', 'anonymise', 'renameUsername'] as const) {
      assert.equal(def.capabilities.lifecycle[action], false, `${def.type} cannot ${action}`);
      assert.ok((def.capabilities.lifecycle.reasons?.[action] ?? '').length > 20, `with a reason for ${action}`);
    }
  });
}

test('test(): an access group the site does not have fails the check, naming it', async () => {
  const jira = await startJiraCloudEmulator();
  const conf = await startConfluenceCloudEmulator();
  const targets = [
    jiraCloud.create(jiraCloud.configSchema.parse({ id: 'j', type: 'jira-cloud', baseUrl: jira.url, email: jira.credentials.email, apiToken: { stored: 't' }, accessGroups: ['jira-software-users', 'jira-typo-users'] }), { storedSecret: () => jira.credentials.apiToken, fastRetries: true }),
    confluenceCloud.create(confluenceCloud.configSchema.parse({ id: 'c', type: 'confluence-cloud', baseUrl: conf.url, email: conf.admin.email, apiToken: { stored: 't' }, accessGroups: ['confluence-users', 'confluence-typo-users'] }), { storedSecret: () => conf.admin.apiToken, ca: conf.ca, fastRetries: true }),
  ];
  try {
    for (const t of targets) {
      const result = await t.test();
      const check = result.checks.find((c) => c.name === 'access groups');
      assert.equal(result.ok, false, `${t.kind}: the connection check fails`);
      assert.equal(check?.ok, false);
      assert.match(check?.message ?? '', /typo-users/);
      assert.doesNotMatch(check?.message ?? '', /software-users,|confluence-users,/, 'only the missing one is named');
    }
  } finally {
    for (const t of targets) await t.close?.();
    await jira.close();
    await conf.close();
  }
});
