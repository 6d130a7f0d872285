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

test('an unknown key anywhere is refused, at its place, naming the key it most likely meant', async () => {
  const { config, issues } = await validateConnector({
    ...base,
    nmae: 'Contoso',
    source: { ...base.source, tenant: 'contoso.onmicrosoft.com' },
    targets: [{ ...base.targets[0], createUser: false, auth: { type: 'pat', tokn: { env: 'T' }, token: { env: 'T' } }, mapping: [{ target: 'user.displayName', source: 'displayName', flw: 'onCreate' }] }],
    schedule: { cron: '0 * * * *', timeZone: 'UTC' },
  });
  assert.equal(config, undefined, 'not valid');
  const message = (path: string) => issues.find((i) => i.path === path && i.severity === 'error')?.message ?? `nothing at ${path}: ${JSON.stringify(issues)}`;
  assert.match(message('targets[0].createUser'), /unknown setting "createUser" \(did you mean "createUsers"\?\); the settings here are .*createUsers/);
  assert.match(message('targets[0].auth.tokn'), /did you mean "token"/);
  assert.match(message('targets[0].mapping[0].flw'), /did you mean "flow"/);
  assert.match(message('source.tenant'), /did you mean "tenantId"/);
  assert.match(message('schedule.timeZone'), /did you mean "timezone"/);
  assert.match(message('nmae'), /did you mean "name"/);
  // The rows' own checks still see their defaults: no "unknown flow undefined" besides the typo.
  assert.deepEqual(issues.filter((i) => i.severity === 'error' && /undefined/.test(i.message)), []);
  const far = await validateConnector({ ...base, targets: [{ ...base.targets[0], colour: 'blue' }] });
  assert.match(far.issues.find((i) => i.path === 'targets[0].colour')?.message ?? '', /^unknown setting "colour"; the settings here are/);
});

/** Paths of object schemas inside `schema` that let unknown keys through (zod 4's definitions). */
function lenientObjects(schema: any, path: string, out: string[] = []): string[] {
  const def = schema?._zod?.def;
  if (!def) return out;
  switch (def.type) {
    case 'object':
      if (def.catchall?._zod?.def?.type !== 'never') out.push(path || '(top)');
      for (const [k, v] of Object.entries(def.shape)) lenientObjects(v, path ? `${path}.${k}` : k, out);
      break;
    case 'optional': case 'nullable': case 'default': case 'prefault': case 'readonly': case 'nonoptional': case 'catch':
      lenientObjects(def.innerType, path, out);
      break;
    case 'union':
      for (const o of def.options) lenientObjects(o, path, out);
      break;
    case 'pipe':
      lenientObjects(def.in, path, out);
      lenientObjects(def.out, path, out);
      break;
    case 'array':
      lenientObjects(def.element, `${path}[]`, out);
      break;
    case 'intersection':
      lenientObjects(def.left, path, out);
      lenientObjects(def.right, path, out);
      break;
  }
  return out;
}

test("every object in every source's and target's settings is strict", async () => {
  const { sourceDefinition, sourceTypes } = await import('../sources/registry.ts');
  const { targetDefinition, targetTypes } = await import('../targets/registry.ts');
  const lenient: string[] = [];
  for (const t of sourceTypes) lenient.push(...lenientObjects((await sourceDefinition(t)).configSchema, '').map((p) => `source ${t}: ${p}`));
  for (const t of targetTypes) lenient.push(...lenientObjects((await targetDefinition(t)).configSchema, '').map((p) => `target ${t}: ${p}`));
  assert.deepEqual(lenient, []);
  // The walker does find a lenient object (the common model lets type-specific keys through).
  const { targetBaseSchema } = await import('./schema.ts');
  assert.deepEqual(lenientObjects(targetBaseSchema, ''), ['(top)']);
});

test('what validation answers (defaults filled in) validates again, for every target type: the UI sends it back', async () => {
  const targets: Array<Record<string, unknown>> = [
    { type: 'jira-dc', url: 'https://jira.example.com', auth: { type: 'pat', token: { env: 'T' } } },
    { type: 'jira-cloud', baseUrl: 'https://acme.atlassian.net', email: 'admin@acme.com', apiToken: { env: 'T' } },
    { type: 'confluence-dc', url: 'https://wiki.example.com', auth: { type: 'basic', username: 'admin', password: { env: 'P' } } },
    { type: 'confluence-cloud', baseUrl: 'https://acme.atlassian.net', email: 'admin@acme.com', apiToken: { env: 'T' } },
    { type: 'atlassian-admin', orgId: 'org-1', apiKey: { env: 'K' } },
    { type: 'crowd', baseUrl: 'https://crowd.example.com/crowd', applicationName: 'idsync', applicationPassword: { env: 'P' } },
  ];
  const { targetTypes } = await import('../targets/registry.ts');
  assert.deepEqual(targets.map((t) => t.type).sort(), [...targetTypes].sort(), 'every target type is covered');
  for (const t of targets) {
    const input = { ...base, targets: [{ id: 't', mapping: [], ...t }], schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin' } };
    const first = await validateConnector(input);
    assert.deepEqual(first.issues.filter((i) => i.severity === 'error'), [], `${t.type}: first save`);
    const again = await validateConnector(structuredClone(first.config));
    assert.deepEqual(again.issues.filter((i) => i.severity === 'error'), [], `${t.type}: saved again as answered`);
  }
});

test('a schedule has the five fields the README documents and must fire some day', async () => {
  const cronIssue = async (cron: string) => (await validateConnector({ ...base, schedule: { cron, timezone: 'UTC' } })).issues.find((i) => i.path === 'schedule.cron')?.message;
  assert.match((await cronIssue('* * * * * *')) ?? 'accepted', /use 5 fields: minute hour day-of-month month day-of-week.*this has 6 \(a first field for seconds is not supported\)/);
  assert.match((await cronIssue('@hourly')) ?? 'accepted', /use 5 fields/);
  assert.match((await cronIssue('0 0 30 2 *')) ?? 'accepted', /never runs/);
  assert.match((await cronIssue('0 0 31 4,6,9,11 *')) ?? 'accepted', /never runs/);
  assert.match((await cronIssue('0 0 ? * *')) ?? 'accepted', /"\?" is not supported/);
  for (const fine of ['0 0 29 2 *', '*/15 6-18 * * 1-5', '0 2 * * *']) assert.equal(await cronIssue(fine), undefined, fine);
});

test('cleanup: an action the target cannot do is refused at its key, naming connector and target and quoting the reason', async () => {
  // Jira Cloud can neither delete nor anonymise an Atlassian account (its lifecycle says why).
  const cloud = { id: 'jira', type: 'jira-cloud', baseUrl: 'https://acme.atlassian.net', email: 'admin@acme.com', apiToken: { env: 'T' }, accessGroups: ['jira-software-users'], mapping: [{ target: 'groups', source: 'groups' }] };
  const withCleanup = (cleanup: unknown) => validateConnector({ ...base, targets: [{ ...cloud, cleanup }] });
  const del = await withCleanup({ action: 'delete' });
  const err = del.issues.find((i) => i.path === 'targets[0].cleanup.action' && i.severity === 'error');
  assert.ok(err, JSON.stringify(del.issues));
  assert.match(err.message, /target "jira" of connector "c" \(Jira Cloud\) cannot delete accounts: /);
  const byReason = await withCleanup({ byReason: { outOfScope: 'anonymise' } });
  assert.match(byReason.issues.find((i) => i.path === 'targets[0].cleanup.byReason.outOfScope')?.message ?? '', /cannot anonymise accounts/);
  const later = await withCleanup({ deleteAfterDays: 30 });
  assert.match(later.issues.find((i) => i.path === 'targets[0].cleanup.deleteAfterDays')?.message ?? '', /cannot delete accounts.*remove deleteAfterDays/);
  const typo = await withCleanup({ action: 'wipe' });
  assert.match(typo.issues.find((i) => i.path === 'targets[0].cleanup.action')?.message ?? '', /use one of: disable, delete, keep, anonymise/);
  const dc = await validateConnector({ ...base, targets: [{ ...base.targets[0], cleanup: { action: 'delete', byReason: { outOfScope: 'anonymise' }, removeGroups: true, keepGroups: ['staff'], protected: { users: ['svc-*'] } } }] });
  assert.deepEqual(dc.issues.filter((i) => i.severity === 'error'), [], 'Jira DC can delete and anonymise');
});
