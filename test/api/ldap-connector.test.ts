// The connector form's view of the LDAP source, through the REST API the UI uses: the source
// type is offered with its settings schema (presets, TLS, bind account, base DNs), the bind
// password is a secret field, stored as a secret and answered as {set: true}, and the CA (a
// public certificate) is kept as written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/index.ts';
import { definition as ldap } from '../../src/sources/ldap/index.ts';
import { definition as jiraDc } from '../../src/targets/jira-dc/index.ts';
import { harness, type Client, type Harness } from './helpers.ts';
import { registryOf } from './fakes.ts';

const PASSWORD = 'ldap-bind-password-4711';
const CA = '-----BEGIN CERTIFICATE-----\nMIIDHjCCAgagAwIBAgIJldapca\n-----END CERTIFICATE-----';

let h: Harness;
let store: Store;
let admin: Client;
const answers: string[] = [];

before(async () => {
  h = await harness({ registry: registryOf({ ldap }, { 'jira-dc': jiraDc }) });
  ({ store, admin } = h);
});
after(() => h?.dispose());

const call = async (method: 'get' | 'post', url: string, body?: unknown) => {
  const res = method === 'get' ? await admin.get(url) : await admin.post(url, body);
  answers.push(res.text);
  return res;
};

test('the form offers LDAP with its settings; the bind password is a stored secret, never answered', async () => {
  const types = await call('get', '/api/v1/source-types');
  const t = types.body.sourceTypes.find((x: { type: string }) => x.type === 'ldap');
  assert.ok(t?.available, 'LDAP is offered');
  assert.equal(t.label, 'LDAP / Active Directory');
  assert.deepEqual(t.secretFields, ['bindPassword']);
  const props = t.configSchema.properties;
  assert.deepEqual(props.preset.enum, ['activeDirectory', 'openldap'], 'both presets');
  for (const key of ['url', 'startTls', 'ca', 'bindDn', 'bindPassword', 'users', 'groups', 'membership', 'nestedGroups', 'disabled', 'idAttribute']) assert.ok(props[key], `setting ${key}`);
  assert.ok(t.knownAttributes.some((a: { path: string }) => a.path === 'accountEnabled'), 'accountEnabled is offered');

  const config = {
    id: 'corp-ad',
    name: 'Corporate AD',
    source: { type: 'ldap', preset: 'activeDirectory', url: 'ldaps://dc1.corp.example.com:636', ca: CA, bindDn: 'CN=idsync,OU=Service,DC=corp,DC=example,DC=com', bindPassword: { replace: PASSWORD }, users: { baseDn: 'OU=Staff,DC=corp,DC=example,DC=com' }, requiredGroups: [] },
    targets: [{ id: 'jira', type: 'jira-dc', url: 'https://jira.example.com', auth: { type: 'pat', token: { replace: 'pat-4711' } }, mapping: [{ target: 'user.username', source: 'sAMAccountName' }, { target: 'user.displayName', source: 'displayName' }, { target: 'user.email', source: 'mail' }] }],
  };
  const created = await call('post', '/api/v1/connectors', { config });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.body.config.source.bindPassword, { set: true });
  assert.equal(created.body.config.source.ca, CA, 'the CA is kept as written');
  const stored = (await store.connectors.get('corp-ad'))!.config;
  assert.deepEqual((stored.source as Record<string, unknown>).bindPassword, { stored: 'source.bindPassword' });
  assert.equal((await store.connectors.secretLookup('corp-ad'))('source.bindPassword'), PASSWORD);

  const bad = structuredClone(config);
  bad.id = 'bad-ldap';
  (bad.source as Record<string, unknown>).url = 'https://dc1';
  (bad.source.users as Record<string, unknown>).filter = '(department=Sales';
  const refused = await call('post', '/api/v1/connectors', { config: bad });
  assert.equal(refused.status, 400, refused.text);
  const at = (path: string) => refused.body.issues.find((i: { path: unknown[] }) => i.path.join('.') === path)?.message as string | undefined;
  assert.match(at('source.url') ?? '', /ldap:\/\/host/);
  assert.match(at('source.users.filter') ?? '', /not a valid LDAP filter/);
  assert.ok(answers.every((a) => !a.includes(PASSWORD)), 'the password is in no answer');
});
