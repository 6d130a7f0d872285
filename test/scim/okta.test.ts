// The request sequence Okta's SCIM 2.0 client sends (developer.okta.com, "Okta and SCIM
// Version 2.0": test connection, lookup by userName, create, PUT for updates, deactivate by
// PATCH, Push Groups: create, rename, member add/remove, delete), against a running idsync.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pushed, startScimHarness, type ScimHarness } from './harness.ts';
import { ScimSource } from '../../src/sources/scim/index.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const CUSTOM = 'urn:ietf:params:scim:schemas:extension:okta:2.0:User';

const oktaUser = (login: string, first: string, last: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER, CUSTOM],
  userName: login,
  name: { givenName: first, familyName: last },
  emails: [{ primary: true, value: login, type: 'work' }],
  displayName: `${first} ${last}`,
  locale: 'en-US',
  externalId: `00u${first.toLowerCase()}`,
  groups: [],
  password: 'never-stored-1!',
  active: true,
  [CUSTOM]: { costCenter: 'CC-7' },
  ...extra,
});

describe('SCIM: Okta provisioning sequence', () => {
  let h: ScimHarness;
  before(async () => {
    h = await startScimHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('answers the test connection, creates, updates by PUT, deactivates and reactivates', async () => {
    const c = h.client;
    const users = await c.get('/Users?startIndex=1&count=2');
    assert.equal(users.status, 200);
    assert.deepEqual(users.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    assert.equal(typeof users.body.itemsPerPage, 'number');
    assert.equal((await c.get('/Groups?startIndex=1&count=100')).status, 200);

    const lookup = await c.get(`/Users?filter=${encodeURIComponent('userName eq "john.doe@example.com"')}&startIndex=1&count=100`);
    assert.equal(lookup.body.totalResults, 0);
    const created = await c.post('/Users', oktaUser('john.doe@example.com', 'John', 'Doe'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.password, undefined, 'a password is never kept nor answered');
    assert.equal(created.body[CUSTOM].costCenter, 'CC-7', 'the provider extension is kept');
    const id = created.body.id as string;
    const stored = await h.server.store.db.selectFrom('scim_resources' as never).selectAll().execute();
    assert.ok(!JSON.stringify(stored).includes('never-stored-1!'), 'the password is not in the store');

    // Okta updates with PUT (the whole user).
    const put = await c.put(`/Users/${id}`, { ...oktaUser('john.doe@example.com', 'Johnny', 'Doe'), id });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.displayName, 'Johnny Doe');
    assert.notEqual(put.headers.get('etag'), created.headers.get('etag'), 'the ETag changes with the resource');
    // If-Match with the old version is refused.
    const stale = await c.call('PUT', `/Users/${id}`, { ...oktaUser('john.doe@example.com', 'X', 'Y') }, { 'if-match': created.headers.get('etag')! });
    assert.equal(stale.status, 412);
    await pushed(h);
    assert.equal(h.jira.inspect('john.doe')?.displayName, 'Johnny Doe');

    const deactivated = await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] });
    assert.equal(deactivated.status, 200);
    assert.equal(deactivated.body.active, false);
    await pushed(h);
    assert.equal(h.jira.inspect('john.doe')?.active, false);
    await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: true } }] });
    await pushed(h);
    assert.equal(h.jira.inspect('john.doe')?.active, true, 'reactivated');

    // The extension attribute is offered to the mapping editor.
    const attrs = await new ScimSource('scim', h.server.store.db).attributes();
    assert.ok(attrs.some((a) => a.path === 'ext.urn_ietf_params_scim_schemas_extension_okta_2_0_User.costCenter'), JSON.stringify(attrs.map((a) => a.path)));
    const user = await new ScimSource('scim', h.server.store.db).getUser('john.doe@example.com');
    assert.equal((user?.attrs.ext as any)?.urn_ietf_params_scim_schemas_extension_okta_2_0_User?.costCenter, 'CC-7', 'the extension value reaches the mapping');
  });

  it('pushes groups: create, rename, members added and removed in batches, delete', async () => {
    const c = h.client;
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await c.post('/Users', oktaUser(`member${i}@example.com`, `Member${i}`, 'Okta'))).body.id);
    const g = await c.post('/Groups', { schemas: [GROUP], displayName: 'okta-pushed', members: [] });
    assert.equal(g.status, 201);
    const gid = g.body.id as string;
    const add = await c.patch(`/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: ids.map((value, i) => ({ value, display: `member${i}@example.com` })) }] });
    assert.equal(add.status, 204);
    const rename = await c.patch(`/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { id: gid, displayName: 'okta-pushed-renamed' } }] });
    assert.equal(rename.status, 204, JSON.stringify(rename.body));
    const rm = await c.patch(`/Groups/${gid}`, { schemas: [PATCH], Operations: ids.slice(0, 10).map((v) => ({ op: 'remove', path: `members[value eq "${v}"]` })) });
    assert.equal(rm.status, 204);
    const group = await c.get(`/Groups/${gid}`);
    assert.equal(group.body.displayName, 'okta-pushed-renamed');
    assert.equal(group.body.members.length, 20);
    await pushed(h);
    assert.ok(h.jira.inspect('member15')!.groups.includes('okta-pushed-renamed'), 'member15 is in the renamed group');
    assert.ok(!h.jira.inspect('member5')!.groups.includes('okta-pushed-renamed'), 'a removed member is not in the Jira group');

    // A full push of the membership with replace (Okta's documented form).
    const full = await c.patch(`/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'members', value: ids.slice(0, 3).map((value) => ({ value, display: 'x' })) }] });
    assert.equal(full.status, 204);
    assert.deepEqual((await c.get(`/Groups/${gid}`)).body.members.map((m: any) => m.value).sort(), ids.slice(0, 3).sort());

    // Okta's PUT of a group carries the whole member list.
    const put = await c.put(`/Groups/${gid}`, { schemas: [GROUP], id: gid, displayName: 'okta-pushed-renamed', members: [{ value: ids[0] }] });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body.members.map((m: any) => m.value), [ids[0]]);

    assert.equal((await c.del(`/Groups/${gid}`)).status, 204);
    assert.equal((await c.get(`/Groups/${gid}`)).status, 404);
    await pushed(h);
    assert.ok(!h.jira.inspect('member0')!.groups.includes('okta-pushed-renamed'), 'members of a deleted group leave it');
  });
});
