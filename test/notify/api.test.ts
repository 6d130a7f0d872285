// The notification routes on a server with no channels: the list says so, the test action
// answers 409 with what to do, hostile bodies get a 400, anonymous callers a 401, and both routes
// are in the OpenAPI document as administrator routes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from '../api/helpers.ts';

describe('notification routes without channels', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => h?.dispose());

  test('the list and the test action', async () => {
    const list = await h.admin.get('/api/v1/notifications');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, { configured: false, channels: [] });
    const t = await h.admin.post('/api/v1/notifications/test', {});
    assert.equal(t.status, 409);
    assert.match(t.body.error, /no notification channels are configured; .*idsync serve --notifications FILE/);
    const bad = await h.admin.post('/api/v1/notifications/test', { channel: 'x', extra: true });
    assert.equal(bad.status, 400);
    assert.equal((await h.anonymous.post('/api/v1/notifications/test', {})).status, 401);
  });

  test('documented as administrator routes', async () => {
    const doc = (await h.admin.get('/api/v1/openapi.json')).body;
    assert.equal(doc.paths['/api/v1/notifications'].get['x-idsync-access'], 'administrator');
    assert.equal(doc.paths['/api/v1/notifications/test'].post['x-idsync-access'], 'administrator');
  });
});
