// Secrets inside a setting (Entra ID's certificate.privateKey, Confluence DC's formLogin.password)
// are as write-only as top-level ones, with the real source and target definitions: declared as
// secret fields, stored as secrets, answered as {"set": true} and never returned, deleted when
// the setting is switched away, and an empty one is reported as required.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/index.ts';
import { definition as entra } from '../../src/sources/entra/index.ts';
import { definition as confluenceDc } from '../../src/targets/confluence-dc/index.ts';
import { harness, type Client, type Harness } from './helpers.ts';
import { registryOf } from './fakes.ts';

const PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCnested-secret-key-body-4711\n-----END PRIVATE KEY-----';
const KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCnested-secret-key-body-4711';
const CERTIFICATE = '-----BEGIN CERTIFICATE-----\nMIIDHjCCAgagAwIBAgIJ\n-----END CERTIFICATE-----';
const FORM_PASSWORD = 'confluence-admin-password-4711';
const TOKEN = 'confluence-pat-4711';
const CLIENT_SECRET = 'entra-client-secret-4711';

let h: Harness;
let store: Store;
let admin: Client;
/** Every answer's body, to prove no secret ever came back. */
const answers: string[] = [];

before(async () => {
  // The real definitions: their schemas and their secretFields are what is under test.
  h = await harness({ registry: registryOf({ entra }, { 'confluence-dc': confluenceDc }) });
  ({ store, admin } = h);
});
after(() => h?.dispose());

const call = async (method: 'get' | 'post' | 'put', url: string, body?: unknown) => {
  const res = method === 'get' ? await admin.get(url) : await admin[method](url, body);
  answers.push(res.text);
  return res;
};

test('certificate.privateKey and formLogin.password are declared, stored as secrets, answered as {set: true}, deleted when switched away, required when empty', async () => {
  const sources = await call('get', '/api/v1/source-types');
  assert.ok(sources.body.sourceTypes[0].secretFields.includes('certificate.privateKey'), 'the Entra certificate key is a secret field');
  const targets = await call('get', '/api/v1/target-types');
  assert.ok(targets.body.targetTypes[0].secretFields.includes('formLogin.password'), 'the Confluence form password is a secret field');

  const config = {
    id: 'nested',
    name: 'Nested secrets',
    source: { type: 'entra', tenantId: 'contoso.onmicrosoft.com', clientId: 'cert-app', certificate: { privateKey: { replace: PRIVATE_KEY }, certificate: CERTIFICATE }, requiredGroups: [] },
    targets: [
      {
        id: 'wiki',
        type: 'confluence-dc',
        url: 'https://wiki.contoso.test',
        auth: { type: 'pat', token: { replace: TOKEN } },
        formLogin: { username: 'admin', password: { replace: FORM_PASSWORD } },
        mapping: [
          { target: 'user.username', source: 'userPrincipalName' },
          { target: 'user.displayName', source: 'displayName' },
          { target: 'user.email', source: 'mail' },
        ],
      },
    ],
  };
  const created = await call('post', '/api/v1/connectors', { config });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.body.config.source.certificate, { privateKey: { set: true }, certificate: CERTIFICATE });
  assert.deepEqual(created.body.config.targets[0].formLogin, { username: 'admin', password: { set: true } });
  const stored = (await store.connectors.get('nested'))!.config;
  assert.deepEqual((stored.source as Record<string, any>).certificate.privateKey, { stored: 'source.certificate.privateKey' });
  assert.deepEqual((stored.targets[0] as Record<string, any>).formLogin.password, { stored: 'target.wiki.formLogin.password' });
  const lookup = await store.connectors.secretLookup('nested');
  assert.equal(lookup('source.certificate.privateKey'), PRIVATE_KEY);
  assert.equal(lookup('target.wiki.formLogin.password'), FORM_PASSWORD);

  // Read back and saved again unchanged ({set: true} keeps both).
  const read = await call('get', '/api/v1/connectors/nested');
  assert.deepEqual(read.body.config.source.certificate.privateKey, { set: true });
  const kept = await call('put', '/api/v1/connectors/nested', { config: read.body.config, revision: read.body.revision });
  assert.equal(kept.status, 200, kept.text);
  assert.equal((await store.connectors.secretLookup('nested'))('source.certificate.privateKey'), PRIVATE_KEY, 'the key is kept');

  // An empty key or password is required, said plainly (not "a secret must be given as {env: VAR}...").
  const empty = structuredClone(kept.body.config);
  empty.source.certificate = { certificate: CERTIFICATE };
  empty.targets[0].formLogin = { username: 'admin' };
  const refused = await call('put', '/api/v1/connectors/nested', { config: empty, revision: kept.body.revision });
  assert.equal(refused.status, 400, refused.text);
  const at = (path: string) => refused.body.issues.find((i: { path: unknown[] }) => i.path.join('.') === path)?.message;
  assert.equal(at('source.certificate.privateKey'), 'required: enter a value');
  assert.equal(at('targets.0.formLogin.password'), 'required: enter a value');

  // Switched to a client secret and without the form login: both stored secrets are deleted.
  const switched = structuredClone(kept.body.config);
  delete switched.source.certificate;
  switched.source.clientSecret = { replace: CLIENT_SECRET };
  delete switched.targets[0].formLogin;
  const saved = await call('put', '/api/v1/connectors/nested', { config: switched, revision: kept.body.revision });
  assert.equal(saved.status, 200, saved.text);
  const after = await store.connectors.secretLookup('nested');
  assert.equal(after('source.certificate.privateKey'), undefined, 'the private key is deleted');
  assert.equal(after('target.wiki.formLogin.password'), undefined, 'the form password is deleted');
  assert.equal(after('source.clientSecret'), CLIENT_SECRET);

  answers.push((await admin.get('/api/v1/config/export')).text);
  for (const s of [KEY_BODY, FORM_PASSWORD, TOKEN, CLIENT_SECRET]) assert.ok(!answers.some((a) => a.includes(s)), 'a secret came back in an API answer');
});
