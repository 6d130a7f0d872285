import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConnector } from './validate.ts';

const base = {
  id: 'c',
  source: { type: 'entra', tenantId: 'contoso.onmicrosoft.com', clientId: 'x', clientSecret: { env: 'S' } },
  targets: [
    {
      id: 'jira',
      type: 'jira-dc',
      url: 'https://jira.example.com',
      auth: { type: 'pat', token: { env: 'T' } },
      mapping: [{ target: 'user.displayName', source: 'displayName' }],
    },
  ],
};

test('a valid connector has no errors', async () => {
  const { config, issues } = await validateConnector(base);
  assert.ok(config, 'config');
  assert.deepEqual(issues.filter((i) => i.severity === 'error'), []);
});

test('problems are placed: secret inline, bad expression with position, unwritable field, bad cron, duplicate target', async () => {
  const { issues } = await validateConnector({
    ...base,
    source: { ...base.source, clientSecret: 'inline-secret' },
    targets: [
      { ...base.targets[0], mapping: [{ target: 'user.displayName', source: '$lower(displayName' }, { target: 'crowd.attribute.x', source: 'department' }] },
      { ...base.targets[0] },
    ],
    schedule: { cron: 'every monday', timezone: 'UTC' },
  });
  const at = (path: string) => issues.filter((i) => i.path === path && i.severity === 'error');
  assert.ok(at('source.clientSecret').length, JSON.stringify(issues));
  assert.ok(at('targets[0].mapping[0].source')[0]?.position !== undefined, "at('targets[0].mapping[0].source')[0]?.position !== undefined");
  assert.match(at('targets[0].mapping[1].target')[0]?.message ?? '', /Crowd/);
  assert.ok(at('schedule.cron').length, "at('schedule.cron').length");
  assert.ok(at('targets[1].id').length, "at('targets[1].id').length");
  assert.ok(!JSON.stringify(issues).includes('inline-secret'), 'the refused secret is not echoed');
});

test('a bad time zone does not hide a bad cron expression: each is reported at its own setting', async () => {
  const { issues } = await validateConnector({ ...base, schedule: { cron: '61 * * * *', timezone: 'Mars/Olympus_Mons' } });
  const at = (path: string) => issues.filter((i) => i.path === path && i.severity === 'error').map((i) => i.message);
  assert.equal(at('schedule.timezone').length, 1, JSON.stringify(issues));
  assert.match(at('schedule.timezone')[0]!, /"Mars\/Olympus_Mons" is not a time zone/);
  assert.equal(at('schedule.cron').length, 1, JSON.stringify(issues));
  assert.match(at('schedule.cron')[0]!, /not a valid cron expression/);
});

test('Confluence DC profile fields with only a personal access token are refused with the reason', async () => {
  const confluence = (auth: Record<string, unknown>) => ({
    ...base,
    targets: [
      {
        id: 'wiki',
        type: 'confluence-dc',
        url: 'https://wiki.example.com',
        auth,
        mapping: [
          { target: 'user.displayName', source: 'displayName' },
          { target: 'confluence.profile.phone', source: 'mobilePhone' },
        ],
      },
    ],
  });
  const withPat = await validateConnector(confluence({ type: 'pat', token: { env: 'T' } }));
  const problem = withPat.issues.find((i) => i.path === 'targets[0].mapping[1].target');
  assert.equal(problem?.severity, 'error');
  assert.match(problem?.message ?? '', /administrator's password/);
  const withPassword = await validateConnector(confluence({ type: 'basic', username: 'admin', password: { env: 'P' } }));
  assert.deepEqual(withPassword.issues.filter((i) => i.severity === 'error'), []);
});

test('a placed path reads back as keys for the UI', async () => {
  const { pathKeys } = await import('./validate.ts');
  assert.deepEqual(pathKeys('targets[0].mapping[12].source'), ['targets', 0, 'mapping', 12, 'source']);
  assert.deepEqual(pathKeys('targets[1].mapping[-1].target'), ['targets', 1, 'mapping', -1, 'target']);
  assert.deepEqual(pathKeys('source.clientSecret'), ['source', 'clientSecret']);
  assert.deepEqual(pathKeys(''), []);
});

test('a bad id does not hide the other problems: one check reports them all', async () => {
  const { config, issues } = await validateConnector({
    ...base,
    id: 'Entra Main',
    source: { ...base.source, tenantId: undefined },
    targets: [{ ...base.targets[0], mapping: [{ target: 'user.displayName', source: '$lower(displayName' }] }],
    schedule: { cron: '61 * * * *', timezone: 'UTC' },
  });
  assert.equal(config, undefined, 'no config while anything is wrong');
  const paths = issues.filter((i) => i.severity === 'error').map((i) => i.path);
  for (const p of ['id', 'source.tenantId', 'targets[0].mapping[0].source', 'schedule.cron']) assert.ok(paths.includes(p), `${p} reported: ${paths.join(', ')}`);
  assert.equal(new Set(issues.map((i) => `${i.path} ${i.message}`)).size, issues.length, 'each problem once');
});

test('problems keep their place when an earlier target or the source cannot even be read', async () => {
  const { issues } = await validateConnector({
    ...base,
    source: { tenantId: 'contoso.onmicrosoft.com' },
    targets: [42, { ...base.targets[0], mapping: [{ target: 'user.displayName', source: '$lower(displayName' }] }],
  });
  const paths = issues.filter((i) => i.severity === 'error').map((i) => i.path);
  assert.ok(paths.includes('targets[1].mapping[0].source'), `the expression error stays on targets[1]: ${paths.join(', ')}`);
  assert.ok(paths.some((p) => p.startsWith('source')), `the source without a type is reported: ${paths.join(', ')}`);
  assert.ok(paths.some((p) => p.startsWith('targets[0]')), `the unreadable first target is reported: ${paths.join(', ')}`);
});
