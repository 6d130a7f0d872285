// Connectors, secrets, validation, sync triggers, results and config export through the API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, transcript, STORE_KINDS, type Harness } from './helpers.ts';
import { newConnectorInput, SECRET, TOKEN_SECRET } from './fakes.ts';
import { exportConfig, importConfig } from '../../src/server/index.ts';
import { emptyCounts, newRunId } from '../../src/store/runs.ts';

for (const kind of STORE_KINDS) describe(`connectors, runs and secrets (${kind} store)`, () => {
  let h: Harness;
  before(async () => {
    h = await harness({ store: kind });
  });
  after(async () => {
    // Whatever the tests above did, no answer ever carried a stored secret.
    const leaked = transcript.filter((t) => t.includes(SECRET) || t.includes(TOKEN_SECRET));
    assert.deepEqual(leaked, [], 'a response contained a stored secret');
    await h.dispose();
  });

  test('a connector is created with write-only secrets shown as {set: true}', async () => {
    const created = await h.admin.post('/api/v1/connectors', { config: newConnectorInput() });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.config.source.clientSecret, { set: true });
    assert.deepEqual(created.body.config.targets[0].token, { set: true });
    assert.equal(created.body.schedule.valid, true);
    assert.equal(created.body.schedule.next.length, 3);
    const lookup = await h.store.connectors.secretLookup('contoso');
    assert.equal(lookup('source.clientSecret'), SECRET);
    assert.equal(lookup('target.jira.token'), TOKEN_SECRET);
    const list = await h.admin.get('/api/v1/connectors');
    assert.equal(list.body.connectors[0].status, 'never-run');
    assert.ok(list.body.connectors[0].nextRun, 'list.body.connectors[0].nextRun');
    assert.match(list.body.connectors[0].schedule.description.text, /02:00/);
  });

  test('saving with {set: true} keeps the stored secret; {replace} changes it; a concurrent edit is refused', async () => {
    const current = (await h.admin.get('/api/v1/connectors/contoso')).body;
    const config = { ...current.config, name: 'Contoso Ltd' };
    const saved = await h.admin.put('/api/v1/connectors/contoso', { config, revision: current.revision });
    assert.equal(saved.status, 200, saved.text);
    assert.equal((await h.store.connectors.secretLookup('contoso'))('source.clientSecret'), SECRET);
    const stale = await h.admin.put('/api/v1/connectors/contoso', { config, revision: current.revision });
    assert.equal(stale.status, 409);
    assert.match(stale.body.error, /changed by someone else/);
  });

  test('an invalid connector is refused with each problem placed, and nothing is saved', async () => {
    const current = (await h.admin.get('/api/v1/connectors/contoso')).body;
    const config = structuredClone(current.config);
    config.targets[0].mapping.push({ target: 'property.managerEmail', source: '$bad(manager.mail)', flow: 'always', whenEmpty: 'keep' });
    config.targets[0].mapping.push({ target: 'confluence.profile.phone', source: 'mobilePhone', flow: 'always', whenEmpty: 'keep' });
    config.targets[0].baseUrl = 'not a url';
    config.schedule.cron = '61 * * * *';
    config.source.clientSecret = { replace: 'would-be-new-secret' };
    const res = await h.admin.put('/api/v1/connectors/contoso', { config, revision: current.revision });
    assert.equal(res.status, 400);
    const at = (path: string) => res.body.issues.find((i: { path: unknown[] }) => i.path.join('.') === path);
    assert.equal(at('targets.0.mapping.2.source')?.position, 1);
    assert.match(at('targets.0.mapping.2.source')?.message, /\$bad/);
    assert.ok(at('targets.0.mapping.3.target'), "at('targets.0.mapping.3.target')");
    assert.match(at('targets.0.baseUrl')?.message, /base URL/);
    assert.match(at('schedule.cron')?.message, /minute/);
    const after = await h.store.connectors.get('contoso');
    assert.equal(after?.revision, current.revision, 'nothing half-saved');
    assert.equal((await h.store.connectors.secretLookup('contoso'))('source.clientSecret'), SECRET, 'the secret was not replaced');
  });

  test('a stored reference to a secret the connector does not own is refused', async () => {
    const input = newConnectorInput();
    input.id = 'other';
    (input.source as Record<string, unknown>).clientSecret = { stored: 'source.clientSecret' };
    const res = await h.admin.post('/api/v1/connectors', { config: input });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.issues[0].path, ['source', 'clientSecret']);
  });

  test('pickers: attributes merge known and discovered; target types list capabilities; preview evaluates rows', async () => {
    const attrs = await h.admin.get('/api/v1/connectors/contoso/attributes');
    const paths = attrs.body.attributes.map((a: { path: string }) => a.path);
    assert.ok(paths.includes('manager.mail') && paths.includes('onPremisesExtensionAttributes.extensionAttribute3'), "paths.includes('manager.mail') && paths.includes('onPremisesExtensionAttributes.extensi...");
    const types = await h.admin.get('/api/v1/target-types');
    assert.ok(types.body.targetTypes[0].capabilities.fields.some((f: { name: string }) => f.name === 'property.'), 'types.body.targetTypes[0].capabilities.fields.some((f: { name: string }) => f.name === ...');
    const preview = await h.admin.post('/api/v1/connectors/contoso/mapping/preview', { targetId: 'jira', userRef: 'adele', rules: [{ target: 'property.managerEmail', source: 'manager.mail' }] });
    assert.equal(preview.status, 200, preview.text);
    assert.equal(preview.body.user.label, 'Adele Vance (adele@contoso.test)');
    assert.equal(preview.body.results[0].value, 'megan@contoso.test');
  });

  test('user search for the "Sync a user" picker: by the start of a name or mail, limited', async () => {
    const byName = await h.admin.get('/api/v1/connectors/contoso/user-search?q=meg');
    assert.equal(byName.status, 200, byName.text);
    assert.deepEqual(byName.body.users, [{ id: 'u-2', displayName: 'Megan Bowen', userPrincipalName: 'megan@contoso.test', mail: 'megan@contoso.test' }]);
    const tooMany = await h.admin.get('/api/v1/connectors/contoso/user-search?q=a&limit=500');
    assert.equal(tooMany.status, 400, 'the limit is bounded');
  });

  test('test connection reports each check', async () => {
    const res = await h.admin.post('/api/v1/connectors/contoso/test');
    assert.equal(res.status, 200);
    assert.equal(res.body.targets.jira.checks[0].ok, false);
    assert.match(res.body.targets.jira.checks[0].message, /401/);
  });

  test('a full sync runs in the background; a second full trigger during it gets 409, a user sync waits its turn; progress is visible', async () => {
    h.engine.hold();
    const started = await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'full' });
    assert.equal(started.status, 202);
    await h.engine.started;
    const clash = await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'full', dryRun: true });
    assert.equal(clash.status, 409);
    assert.match(clash.body.error, /full sync of connector contoso is running/);
    const queuedUser = h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'user', userRef: 'adele@contoso.test' });
    let live;
    for (let i = 0; i < 100 && !live?.body.queued; i++) {
      live = await h.admin.get('/api/v1/connectors/contoso/activity');
      if (!live.body.queued) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(live!.body.queued, 1, 'the user sync waits behind the full sync');
    assert.equal(live!.body.active.progress.read, 1);
    assert.equal((await h.admin.get('/api/v1/connectors')).body.connectors[0].status, 'running');
    h.engine.release();
    const user = await queuedUser;
    assert.equal(user.status, 200, user.text);
    assert.equal(user.body.run.kind, 'user');
    const runs = (await h.admin.get('/api/v1/runs?connectorId=contoso')).body.runs;
    assert.deepEqual(runs.map((r: { kind: string; status: string }) => [r.kind, r.status]), [['user', 'succeeded'], ['full', 'partial']]);
    assert.equal(h.engine.calls.filter((c) => c.kind === 'full').length, 1, 'the refused trigger never reached the engine');
  });

  test('a single-user sync answers with its step-by-step report', async () => {
    const res = await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'user', userRef: 'adele@contoso.test' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.user.found, true);
    assert.equal(res.body.user.mapped.jira['property.managerEmail'], 'megan@contoso.test');
    assert.equal(res.body.run.kind, 'user');
    const missing = await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'user' });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body.issues[0].path, ['userRef']);
  });

  test('a run started from a browser session is recorded as triggered by the ui, one started with an API token by the api', async () => {
    const fromUi = await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'user', userRef: 'adele@contoso.test' });
    assert.equal(fromUi.status, 200, fromUi.text);
    assert.equal(fromUi.body.run.trigger, 'ui');
    const token = await h.admin.post('/api/v1/tokens', { name: 'trigger script', role: 'administrator' });
    const script = h.client();
    script.bearer = token.body.secret;
    const fromScript = await script.post('/api/v1/connectors/contoso/sync', { kind: 'user', userRef: 'adele@contoso.test' });
    assert.equal(fromScript.status, 200, fromScript.text);
    assert.equal(fromScript.body.run.trigger, 'api');
    assert.deepEqual(h.engine.calls.slice(-2).map((c) => c.trigger), ['ui', 'api']);
    await h.admin.del(`/api/v1/tokens/${token.body.token.id}`);
  });

  test('results: filter by operation, search, page, download JSON and CSV', async () => {
    const runs = (await h.admin.get('/api/v1/runs?connectorId=contoso')).body.runs;
    const full = runs.find((r: { kind: string }) => r.kind === 'full');
    const failed = await h.admin.get(`/api/v1/runs/${full.id}/items?operation=failed`);
    assert.equal(failed.body.total, 1);
    assert.equal(failed.body.items[0].label, 'Megan Bowen');
    assert.equal((await h.admin.get(`/api/v1/runs/${full.id}/items?search=adele`)).body.items[0].changes[0].after, 'megan@contoso.test');
    assert.equal((await h.admin.get(`/api/v1/runs/${full.id}/items?limit=1&offset=1`)).body.items[0].seq, 2);
    assert.equal((await h.admin.get(`/api/v1/runs/${full.id}/items?operation=exploded`)).status, 400);
    // NUL once matched every item: control characters are refused, saying why.
    for (const bad of ['%00', 'adele%00', '%1B%5B2J']) {
      const res = await h.admin.get(`/api/v1/runs/${full.id}/items?search=${bad}`);
      assert.equal(res.status, 400, `search=${bad}: ${res.text}`);
      assert.match(res.text, /control characters/);
    }
    const csv = await h.admin.get(`/api/v1/runs/${full.id}/download?format=csv`);
    assert.match(String(csv.headers['content-type']), /text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines[0], 'seq,target,sourceId,user,operation,field,before,after,error');
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /property\.managerEmail,,megan@contoso\.test/);
    assert.match(lines[2]!, /"Jira refused the e-mail address, ""=cmd"" is not valid"/);
    const json = await h.admin.get(`/api/v1/runs/${full.id}/download?format=json`);
    assert.equal(json.body.run.id, full.id);
    assert.equal(json.body.items.length, 2);
    assert.equal((await h.admin.get('/api/v1/runs/nope')).status, 404);
  });

  test('results of a full sync that counted its unchanged users without listing them say how many are not listed', async () => {
    const run = await h.store.runs.create({ id: newRunId(), connectorId: 'unlisted-check', kind: 'full', dryRun: false, reconcile: false, trigger: 'cli', userRef: null, startedAt: new Date().toISOString() });
    await h.store.runs.addItems(run.id, [{ seq: 1, sourceId: 'u1', label: 'Adele Vance', targetId: 'jira', operation: 'updated', error: null, changes: [{ field: 'user.displayName', before: 'Adele', after: 'Adele Vance' }], details: null }]);
    const perTarget = { ...emptyCounts(), updated: 1, unchanged: 3, unchangedUnlisted: 3, usersWritten: 1, writes: 1 };
    await h.store.runs.update(run.id, { status: 'succeeded', finishedAt: new Date().toISOString(), counts: { ...perTarget, read: 4, targets: { jira: perTarget } } });
    const items = (q: string) => h.admin.get(`/api/v1/runs/${run.id}/items${q}`).then((r) => (assert.equal(r.status, 200, r.text), r.body));
    assert.deepEqual(await items('').then((b) => [b.total, b.unlisted]), [1, 3], 'one listed, three counted only');
    assert.deepEqual(await items('?operation=unchanged').then((b) => [b.total, b.unlisted]), [0, 3], 'the unchanged filter lists none and says so');
    assert.equal((await items('?operation=updated,failed')).unlisted, 0, 'a filter without unchanged covers none of them');
    assert.equal((await items('?operation=unchanged&targetId=jira')).unlisted, 3);
    assert.equal((await items('?targetId=confluence')).unlisted, 0, 'per target');
    assert.equal((await h.admin.get(`/api/v1/runs/${run.id}`)).body.run.counts.unchangedUnlisted, 3, 'the count is in the run');
  });

  test('config export never includes secret values; an import validates everything before saving', async () => {
    const yaml = await exportConfig(h.store);
    assert.ok(!yaml.includes(SECRET) && !yaml.includes(TOKEN_SECRET), '!yaml.includes(SECRET) && !yaml.includes(TOKEN_SECRET)');
    assert.match(yaml, /stored: source\.clientSecret/);
    const viaApi = await h.admin.get('/api/v1/config/export');
    assert.ok(viaApi.text.includes('contoso'), "viaApi.text.includes('contoso')");
    const services = (await import('./fakes.ts')).fakeServices(h.engine);
    const result = await importConfig(h.store, yaml.replace('Contoso Ltd', 'Contoso Imported'), services);
    assert.deepEqual(result.saved, ['contoso']);
    assert.equal((await h.store.connectors.get('contoso'))?.config.name, 'Contoso Imported');
    await assert.rejects(importConfig(h.store, yaml.replace('0 2 * * *', 'every day'), services), /nothing was imported[\s\S]*schedule\.cron \(line \d+, column \d+\)/);
    // A syntax error says where, never what the line holds (it may be a secret typed inline).
    await assert.rejects(importConfig(h.store, `${yaml}\n- token: hunter2-inline-secret\n`, services), (e: Error) => /not valid YAML: line \d+, column \d+/.test(e.message) && !e.message.includes('hunter2'));
    await assert.rejects(importConfig(h.store, yaml.replace('stored: target.jira.token', 'stored: someone-elses'), services), /secret "someone-elses" is not stored/);
  });

  test('deleting a connector removes it', async () => {
    assert.equal((await h.admin.del('/api/v1/connectors/contoso')).status, 204);
    assert.equal((await h.admin.get('/api/v1/connectors/contoso')).status, 404);
  });
});
