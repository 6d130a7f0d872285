import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startConfluenceCloudEmulator } from '../../../emulators/confluence-cloud/index.ts';
import { isIdsyncError } from '../../core/errors.ts';
import { definition } from './index.ts';
import { SCALAR_ENVELOPE } from './connector.ts';

async function setup() {
  const emu = await startConfluenceCloudEmulator({
    seed: {
      accounts: [
        { accountId: 'acc-vis', displayName: 'Vis Ible', email: 'visible@example.com' },
        { accountId: 'acc-hid', displayName: 'Hid Den', email: 'hidden@example.com', emailVisible: false },
      ],
    },
  });
  const config = definition.configSchema.parse({ id: 'cc', type: 'confluence-cloud', baseUrl: emu.url, email: emu.admin.email, apiToken: { stored: 't' } });
  const c = definition.create(config, { storedSecret: () => emu.admin.apiToken, ca: emu.ca, fastRetries: true });
  return { emu, c };
}

test('email matching finds visible emails only, case-insensitively', async () => {
  const { emu, c } = await setup();
  try {
    assert.equal((await c.findUser({ email: 'VISIBLE@example.com' }))?.ref.key, 'acc-vis');
    assert.equal(await c.findUser({ email: 'hidden@example.com' }), null, 'a hidden email cannot be matched');
    assert.equal((await c.findUser({ key: 'acc-hid' }))?.values['user.displayName'], 'Hid Den');
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('objects are stored as they are, other JSON in the envelope; reads unwrap it', async () => {
  const { emu, c } = await setup();
  try {
    const res = await c.write({
      op: 'update',
      ref: { key: 'acc-vis' },
      desired: {},
      changes: [
        { field: 'property.obj', before: null, after: { a: 1 } },
        { field: 'property.str', before: null, after: 'CC-1' },
        { field: 'property.bad.key', before: null, after: { a: 1 } },
      ],
      options: { createMissingGroups: false },
    });
    assert.deepEqual(res.fields.map((f) => f.ok), [true, true, false]);
    assert.match(res.fields[2]!.error!, /letters, digits/);
    assert.equal(emu.store.getProperty('acc-vis', 'obj')!.json, '{"a":1}');
    assert.deepEqual(JSON.parse(emu.store.getProperty('acc-vis', 'str')!.json), { [SCALAR_ENVELOPE]: 'CC-1' });
    const read = await c.readUser({ key: 'acc-vis' }, ['property.obj', 'property.str', 'property.none']);
    assert.deepEqual(read?.values, { 'user.displayName': 'Vis Ible', 'user.email': 'visible@example.com', 'property.obj': { a: 1 }, 'property.str': 'CC-1', 'property.none': null });
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('account fields fail with the Atlassian-account reason; create is a CONFIG error', async () => {
  const { emu, c } = await setup();
  try {
    const res = await c.write({ op: 'update', ref: { key: 'acc-vis' }, desired: {}, changes: [{ field: 'confluence.profile.department', before: null, after: 'R&D' }], options: { createMissingGroups: false } });
    assert.match(res.fields[0]!.error!, /Atlassian account; use the atlassian-admin target/);
    await assert.rejects(c.write({ op: 'create', desired: { 'user.email': 'x@example.com' }, changes: [], options: { createMissingGroups: false } }), (e: unknown) => isIdsyncError(e, 'CONFIG'));
  } finally {
    await c.close?.();
    await emu.close();
  }
});
