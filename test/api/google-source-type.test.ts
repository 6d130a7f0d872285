// The connector form offers Google Workspace with its own fields and help: the source-types
// catalogue (which the form is built from) carries its label, settings with titles and
// descriptions and its secret field; a connector saved with a service account key stores the
// key as a secret, answers {set: true} and never returns it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { Store } from '../../src/store/index.ts';
import { definition as google } from '../../src/sources/google/index.ts';
import { definition as jiraDc } from '../../src/targets/jira-dc/index.ts';
import { harness, type Client, type Harness } from './helpers.ts';
import { registryOf } from './fakes.ts';

const PRIVATE_KEY = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const KEY_JSON = JSON.stringify({ type: 'service_account', client_email: 'reader@p.iam.gserviceaccount.com', client_id: '1234', private_key: PRIVATE_KEY, token_uri: 'https://oauth2.googleapis.com/token' });

let h: Harness;
let store: Store;
let admin: Client;
const answers: string[] = [];

before(async () => {
  h = await harness({ registry: registryOf({ google }, { 'jira-dc': jiraDc }) });
  ({ store, admin } = h);
});
after(() => h?.dispose());

test('the catalogue offers Google Workspace with its settings, help texts and secret field', async () => {
  const res = await admin.get('/api/v1/source-types');
  answers.push(res.text);
  const g = res.body.sourceTypes.find((s: { type: string }) => s.type === 'google');
  assert.equal(g.label, 'Google Workspace');
  assert.deepEqual(g.secretFields, ['serviceAccountKey']);
  const props = g.configSchema.properties;
  for (const name of ['serviceAccountKey', 'subject', 'customer', 'domain', 'query', 'customSchemas', 'readGroups', 'pageSize']) assert.ok(props[name], `setting ${name} offered`);
  assert.match(props.serviceAccountKey.description, /JSON key file/);
  assert.match(props.subject.description, /administrator/);
  assert.ok(g.knownAttributes.some((a: { path: string }) => a.path === 'customSchemas'), 'custom schemas in the catalogue');
  assert.ok(g.knownAttributes.some((a: { path: string }) => a.path === 'manager.primaryEmail'), 'manager.primaryEmail is offered');
});

test('a Google connector stores the service account key as a secret and never returns it', async () => {
  const config = {
    id: 'gws',
    name: 'Google',
    source: { type: 'google', serviceAccountKey: { replace: KEY_JSON }, subject: 'admin@example.com', requiredGroups: [] },
    targets: [{ id: 'jira', type: 'jira-dc', url: 'https://jira.example.test', auth: { type: 'pat', token: { replace: 'pat-4711' } }, mapping: [{ target: 'user.username', source: 'primaryEmail' }, { target: 'user.displayName', source: 'fullName' }, { target: 'user.email', source: 'primaryEmail' }] }],
  };
  const created = await admin.post('/api/v1/connectors', { config });
  answers.push(created.text);
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.body.config.source.serviceAccountKey, { set: true });
  assert.equal((await store.connectors.secretLookup('gws'))('source.serviceAccountKey'), KEY_JSON);
  const read = await admin.get('/api/v1/connectors/gws');
  answers.push(read.text);
  assert.deepEqual(read.body.config.source.serviceAccountKey, { set: true });
  const bad = await admin.post('/api/v1/connectors', { config: { ...config, id: 'gws2', source: { ...config.source, subject: 'not-an-email' } } });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /administrator/);
  for (const a of answers) assert.ok(!a.includes('PRIVATE KEY') && !a.includes(PRIVATE_KEY.slice(40, 80)), 'the key never comes back');
});
