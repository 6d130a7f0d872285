// {env} and {file} secret references read the server's own environment and files, so the REST
// API (and the web UI on it) may not set them: an administrator could otherwise send
// IDSYNC_ADMIN_PASSWORD or the store's key file to a URL of their choice. They come from the
// operator's YAML file (`idsync config import`) or an allow-list the operator sets; a reference
// already stored may be saved back unchanged.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { importConfig, type EngineService } from '../../src/server/index.ts';
import { parseAllowedSecretRefs } from '../../src/server/secret-ref-policy.ts';
import { harness, STORE_KINDS, type Harness } from './helpers.ts';
import { fakeServices, newConnectorInput } from './fakes.ts';

const REFUSED = /environment and file references can only be set in the operator's YAML file \(idsync config import\) or allowed with IDSYNC_ALLOWED_SECRET_REFS=/;

/** The operator's YAML file: connector `yaml-made` whose secrets come from the environment and a file. */
const operatorYaml = () =>
  stringify({
    version: 1,
    connectors: [
      {
        id: 'yaml-made',
        source: { type: 'entra', tenantId: 'contoso.test', clientId: 'app-1', clientSecret: { env: 'CONTOSO_GRAPH_SECRET' } },
        targets: [{ id: 'jira', type: 'jira-dc', baseUrl: 'https://jira.contoso.test', token: { file: '/run/secrets/jira-pat' }, mapping: [{ target: 'user.username', source: 'userPrincipalName' }] }],
      },
    ],
  });

const withSecret = (path: 'source' | 'target', ref: unknown, id = 'api-made') => {
  const input = newConnectorInput() as Record<string, any>;
  input.id = id;
  if (path === 'source') input.source.clientSecret = ref;
  else input.targets[0].token = ref;
  return input;
};

for (const kind of STORE_KINDS) describe(`secret references through the API (${kind} store)`, () => {
  let h: Harness;
  /** Connectors the engine was asked to read attributes with (discovery during a save). */
  const discoveredWith: ConnectorConfig[] = [];
  before(async () => {
    h = await harness({ store: kind });
    const attributes = h.engine.attributes.bind(h.engine);
    (h.engine as EngineService).attributes = async (c) => {
      discoveredWith.push(c);
      return attributes();
    };
    // The operator's `idsync config import` (no API policy).
    await importConfig(h.store, operatorYaml(), fakeServices(h.engine));
  });
  after(() => h.dispose());

  test('a new {env} or {file} reference is refused with 400 and the way to set it; nothing is saved', async () => {
    for (const [where, ref, path] of [
      ['source', { env: 'IDSYNC_ADMIN_PASSWORD' }, 'source.clientSecret'],
      ['target', { file: '/var/lib/idsync/secret.key' }, 'targets.0.token'],
    ] as const) {
      const res = await h.admin.post('/api/v1/connectors', { config: withSecret(where, ref) });
      assert.equal(res.status, 400, res.text);
      assert.match(res.body.error, REFUSED);
      const issue = res.body.issues.find((i: { path: string[] }) => i.path.join('.') === path);
      assert.ok(issue, `the refusal is placed at ${path}: ${res.text}`);
      assert.match(issue.message, REFUSED);
      assert.equal(await h.store.connectors.get('api-made'), undefined, 'nothing was saved');
    }
    const validated = await h.admin.post('/api/v1/connectors/validate', { config: withSecret('source', { env: 'IDSYNC_ADMIN_PASSWORD' }) });
    assert.equal(validated.body.ok, false, 'validation reports the refused reference too');
    assert.match(JSON.stringify(validated.body.issues), /IDSYNC_ALLOWED_SECRET_REFS=env:IDSYNC_ADMIN_PASSWORD/);
  });

  test('stored secrets entered in the UI are still accepted', async () => {
    const res = await h.admin.post('/api/v1/connectors', { config: withSecret('source', { replace: 'typed-in-the-ui' }, 'typed') });
    assert.equal(res.status, 201, res.text);
  });

  test("a connector from the operator's YAML file is saved back unchanged from the UI, its references kept", async () => {
    const current = (await h.admin.get('/api/v1/connectors/yaml-made')).body;
    assert.deepEqual(current.config.source.clientSecret, { env: 'CONTOSO_GRAPH_SECRET' }, 'the UI is shown the reference');
    const saved = await h.admin.put('/api/v1/connectors/yaml-made', { config: { ...current.config, name: 'Renamed in the UI' }, revision: current.revision });
    assert.equal(saved.status, 200, saved.text);
    const stored = (await h.store.connectors.get('yaml-made'))!.config;
    assert.deepEqual(stored.source.clientSecret, { env: 'CONTOSO_GRAPH_SECRET' });
    assert.deepEqual((stored.targets[0] as Record<string, unknown>).token, { file: '/run/secrets/jira-pat' });
    assert.equal(stored.name, 'Renamed in the UI');
  });

  test('a changed reference, or a stored one moved to another setting, is refused and never resolved by discovery', async () => {
    const current = (await h.admin.get('/api/v1/connectors/yaml-made')).body;
    discoveredWith.length = 0;
    const changed = structuredClone(current.config);
    changed.source.clientSecret = { env: 'IDSYNC_ADMIN_PASSWORD' };
    const moved = structuredClone(current.config);
    moved.targets[0].token = { env: 'CONTOSO_GRAPH_SECRET' };
    moved.targets[0].baseUrl = 'https://collector.example.test';
    for (const [config, path] of [[changed, 'source.clientSecret'], [moved, 'targets.0.token']] as const) {
      const res = await h.admin.put('/api/v1/connectors/yaml-made', { config, revision: current.revision });
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.body.issues.map((i: { path: string[] }) => i.path.join('.')), [path]);
    }
    assert.deepEqual(discoveredWith, [], 'the provider was never asked with a refused reference');
    assert.equal((await h.store.connectors.get('yaml-made'))!.revision, current.revision, 'nothing was saved');
  });

  test('a config import through the API takes only references it already holds', async () => {
    const exported = (await h.admin.get('/api/v1/config/export')).text;
    const again = await h.admin.post('/api/v1/config/import', { yaml: exported });
    assert.equal(again.status, 200, `re-importing the export keeps its references: ${again.text}`);
    const hostile = exported.replace('CONTOSO_GRAPH_SECRET', 'IDSYNC_ADMIN_PASSWORD');
    const res = await h.admin.post('/api/v1/config/import', { yaml: hostile });
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error, REFUSED);
    assert.deepEqual((await h.store.connectors.get('yaml-made'))!.config.source.clientSecret, { env: 'CONTOSO_GRAPH_SECRET' });
  });
});

describe('an allow-list the operator sets', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ server: { secretRefs: parseAllowedSecretRefs('env:CONTOSO_*, file:/run/secrets') } });
  });
  after(() => h.dispose());

  test('lets the API set the variables and files it names, and nothing else', async () => {
    const ok = await h.admin.post('/api/v1/connectors', { config: { ...withSecret('source', { env: 'CONTOSO_GRAPH_SECRET' }), targets: withSecret('target', { file: '/run/secrets/jira-pat' }).targets } });
    assert.equal(ok.status, 201, ok.text);
    for (const ref of [{ env: 'IDSYNC_ADMIN_PASSWORD' }, { file: '/run/secrets/../../etc/shadow' }, { file: '/run/secrets-other/x' }, { file: 'run/secrets/relative' }]) {
      const res = await h.admin.post('/api/v1/connectors', { config: withSecret('target', ref, 'other') });
      assert.equal(res.status, 400, `${JSON.stringify(ref)} must be refused: ${res.text}`);
      assert.match(res.body.error, REFUSED);
    }
  });

  test('a wrong entry is refused with what is wrong', () => {
    assert.throws(() => parseAllowedSecretRefs('env:GOOD,IDSYNC_ADMIN_PASSWORD'), /"IDSYNC_ADMIN_PASSWORD" is not env:NAME/);
    assert.throws(() => parseAllowedSecretRefs('file:relative/dir'), /ABSOLUTE/);
    assert.deepEqual(parseAllowedSecretRefs(''), { env: [], fileDirs: [] });
  });
});
