// The connector form offers Okta from its definition: /source-types answers its settings as a
// JSON schema with titles and help text (what the UI's form is built from), the API token and
// the service app's private key as secret fields, stored write-only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/index.ts';
import { definition as okta } from '../../src/sources/okta/index.ts';
import { definition as jiraDc } from '../../src/targets/jira-dc/index.ts';
import { harness, type Client, type Harness } from './helpers.ts';
import { registryOf } from './fakes.ts';

const KEY = '-----BEGIN PRIVATE KEY-----\nokta-service-app-key-body-4711\n-----END PRIVATE KEY-----';
let h: Harness;
let store: Store;
let admin: Client;

before(async () => {
  h = await harness({ registry: registryOf({ okta }, { 'jira-dc': jiraDc }) });
  ({ store, admin } = h);
});
after(() => h?.dispose());

test('Okta is offered with its own fields and help text, and its credentials are secrets', async () => {
  const res = await admin.get('/api/v1/source-types');
  const t = res.body.sourceTypes.find((s: { type: string }) => s.type === 'okta');
  assert.ok(t?.available, res.text);
  assert.equal(t.label, 'Okta');
  assert.deepEqual(t.secretFields, ['apiToken', 'oauth.privateKey']);
  const props = t.configSchema.properties;
  for (const f of ['orgUrl', 'apiToken', 'oauth', 'search', 'filter', 'groupTypes', 'manager', 'rateLimitReservePercent']) assert.ok(props[f], `field ${f}`);
  assert.match(props.orgUrl.description, /without -admin/);
  assert.match(props.apiToken.description, /Security > API > Tokens/);
  assert.match(JSON.stringify(props.oauth), /Okta API Scopes tab/);
  assert.ok(t.knownAttributes.some((a: { path: string }) => a.path === 'active'), 'the catalogue before discovery');

  const config = {
    id: 'okta-form',
    source: { type: 'okta', orgUrl: 'https://example.okta.com', oauth: { clientId: '0oa1', privateKey: { replace: KEY } }, requiredGroups: [] },
    targets: [{ id: 'jira', type: 'jira-dc', url: 'https://jira.example.com', auth: { type: 'pat', token: { replace: 'jira-pat-4711' } }, mapping: [{ target: 'user.username', source: 'login' }, { target: 'user.displayName', source: 'displayName' }, { target: 'user.email', source: 'email' }] }],
  };
  const created = await admin.post('/api/v1/connectors', { config });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.body.config.source.oauth.privateKey, { set: true });
  assert.ok(!created.text.includes('okta-service-app-key-body-4711'), 'the key never comes back');
  assert.equal((await store.connectors.secretLookup('okta-form'))('source.oauth.privateKey'), KEY);

  const admin2 = { ...config, id: 'okta-admin-url', source: { ...config.source, orgUrl: 'https://example-admin.okta.com' } };
  const refused = await admin.post('/api/v1/connectors', { config: admin2 });
  assert.equal(refused.status, 400);
  assert.match(refused.text, /without -admin/);
  const both = { ...config, id: 'okta-both', source: { ...config.source, apiToken: { replace: 'x' } } };
  assert.match((await admin.post('/api/v1/connectors', { config: both })).text, /exactly one credential/);
});
