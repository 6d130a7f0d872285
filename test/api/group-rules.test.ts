// The group rules preview and group rules in a saved connector, through the API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from './helpers.ts';
import { newConnectorInput } from './fakes.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { SourceUser } from '../../src/core/types.ts';

const SAMPLE: SourceUser = { id: 'u-9', attrs: { displayName: 'Lee Gu', userPrincipalName: 'lee@contoso.test', mail: 'lee@contoso.test' }, groups: ['dept-sales', 'dept-secret', 'vpn'] };

describe('group rules through the API', () => {
  let h: Harness;
  const asked: ConnectorConfig[] = [];
  before(async () => {
    h = await harness();
    h.engine.sampleUsers = async (c: ConnectorConfig) => {
      asked.push(c);
      return [SAMPLE];
    };
    const created = await h.admin.post('/api/v1/connectors', { config: newConnectorInput() });
    assert.equal(created.status, 201, created.text);
  });
  after(async () => {
    await h.dispose();
  });

  const preview = (body: Record<string, unknown>) => h.admin.post('/api/v1/connectors/contoso/group-rules/preview', { targetId: 'jira', ...body });

  test('the preview shows each source group, the rule that decided it and the resulting groups; the sample is read with groups', async () => {
    const res = await preview({ groupRules: { rules: [{ exclude: 'dept-secret' }, { include: 'dept-*', rename: 'jira-$1' }], defaultGroups: ['jira-software-users'] } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.user.label, 'Lee Gu (lee@contoso.test)');
    assert.equal(res.body.preview.inputFrom, 'source', 'the stored mapping has no groups rule');
    assert.deepEqual(res.body.preview.groups, ['jira-sales', 'jira-software-users']);
    assert.deepEqual(res.body.preview.decisions, [
      { source: 'dept-sales', rule: 1, outcome: 'included', name: 'jira-sales' },
      { source: 'dept-secret', rule: 0, outcome: 'excluded' },
      { source: 'vpn', outcome: 'dropped' },
      { outcome: 'default', name: 'jira-software-users' },
    ]);
    const groupRules = asked.at(-1)?.targets[0]?.groupRules;
    assert.ok(groupRules && groupRules.dropUnmatched === false, 'the sample read asks the source for groups even before rules are saved');
  });

  test('with the edited mapping\'s groups rule, the rules receive its output', async () => {
    const res = await preview({ groupRules: { rules: [] }, rules: [{ target: 'groups', source: 'groups' }] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.preview.inputFrom, 'mapping');
    assert.equal(res.body.preview.dropUnmatched, false);
  });

  test('broken rules come back as placed issues, a malformed rule as a 400', async () => {
    const res = await preview({ groupRules: { rules: [{ include: { regex: '(' } }] } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.preview.groups, undefined);
    assert.equal(res.body.preview.issues[0].path, 'rules[0].include.regex');
    assert.match(res.body.preview.issues[0].message, /not a valid regular expression/);
    const malformed = await preview({ groupRules: { rules: [{ include: 'a', exclude: 'b' }] } });
    assert.equal(malformed.status, 400, malformed.text);
    assert.match(malformed.text, /exactly one of include or exclude/);
  });

  test('saving a connector with bad group rules is refused at the rule; good ones are stored', async () => {
    const current = (await h.admin.get('/api/v1/connectors/contoso')).body;
    const withRules = (groupRules: unknown) => ({ ...current.config, targets: [{ ...current.config.targets[0], groupRules }] });
    const bad = await h.admin.put('/api/v1/connectors/contoso', { config: withRules({ rules: [{ include: 'team-*', rename: 'x-$2' }] }), revision: current.revision });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /\$2 refers to capture 2/);
    assert.match(bad.text, /groupRules/);
    const good = await h.admin.put('/api/v1/connectors/contoso', { config: withRules({ rules: [{ include: 'team-*', rename: 'x-$1' }], defaultGroups: ['staff'] }), revision: current.revision });
    assert.equal(good.status, 200, good.text);
    assert.deepEqual(good.body.config.targets[0].groupRules.defaultGroups, ['staff']);
  });
});
