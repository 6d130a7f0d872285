// The request sequence Microsoft Entra provisioning sends (Microsoft Learn, "Tutorial: Develop
// and plan provisioning for a SCIM endpoint in Microsoft Entra ID", User and Group operations),
// replayed against a running idsync, checking the SCIM answers and what reaches Jira.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pushed, startScimHarness, type ScimHarness } from './harness.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

const entraUser = (upn: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER, ENT],
  externalId: upn.split('@')[0],
  userName: upn,
  active: true,
  displayName: `Display ${upn.split('@')[0]}`,
  emails: [{ primary: true, type: 'work', value: upn }],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
  ...extra,
});

describe('SCIM: Entra ID provisioning sequence', () => {
  let h: ScimHarness;
  before(async () => {
    h = await startScimHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('answers discovery without a token only with 401 and a SCIM error body', async () => {
    const anon = await fetch(`${h.base}/Users`);
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('content-type') ?? '', /application\/scim\+json/);
    const body = (await anon.json()) as any;
    assert.deepEqual(body.schemas, [ERROR]);
    assert.equal(body.status, '401');
    const wrong = await fetch(`${h.base}/Users`, { headers: { authorization: 'Bearer idsync_scim_wrong' } });
    assert.equal(wrong.status, 401);
    const spc = await h.client.get('/ServiceProviderConfig');
    assert.equal(spc.status, 200);
    assert.equal(spc.body.patch.supported, true);
    assert.equal(spc.body.filter.supported, true);
    const rt = await h.client.get('/ResourceTypes');
    assert.deepEqual(rt.body.Resources.map((r: any) => r.id).sort(), ['Group', 'User']);
    const schemas = await h.client.get('/Schemas');
    assert.ok(schemas.body.Resources.some((s: any) => s.id === ENT), 'the enterprise extension is described');
  });

  it('creates, finds, updates, manages, disables and deletes a user as Entra does, and Jira follows', async () => {
    const c = h.client;
    // Entra looks the user up by userName before creating it.
    const lookup = await c.get(`/Users?filter=${encodeURIComponent('userName eq "Test_User_dfeef4c5@contoso.com"')}`);
    assert.equal(lookup.status, 200);
    assert.equal(lookup.body.totalResults, 0);
    assert.deepEqual(lookup.body.Resources, []);

    const manager = await c.post('/Users', entraUser('boss@contoso.com', { displayName: 'The Boss' }));
    assert.equal(manager.status, 201, JSON.stringify(manager.body));
    const created = await c.post('/Users', entraUser('Test_User_dfeef4c5@contoso.com', { [ENT]: { department: 'Sales' } }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.ok(created.body.id, 'the created user has an id');
    assert.match(created.headers.get('etag') ?? '', /^W\/"\d+"$/);
    assert.equal(created.headers.get('location'), `${h.base}/Users/${created.body.id}`);
    const id = created.body.id as string;

    // A second create with the same userName (any case) is a 409 uniqueness.
    const dup = await c.post('/Users', entraUser('test_user_DFEEF4C5@contoso.com'));
    assert.equal(dup.status, 409);
    assert.equal(dup.body.scimType, 'uniqueness');

    const found = await c.get(`/Users?filter=${encodeURIComponent('userName eq "Test_User_dfeef4c5@contoso.com"')}`);
    assert.equal(found.body.totalResults, 1);
    assert.equal(found.body.Resources[0].id, id);
    const byMail = await c.get(`/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "test_user_dfeef4c5@contoso.com"')}`);
    assert.equal(byMail.body.totalResults, 1, 'a value-filter path finds the user');
    const orFilter = await c.get(`/Users?filter=${encodeURIComponent('userName eq "nobody@x" or externalId eq "boss"')}&attributes=userName`);
    assert.equal(orFilter.body.totalResults, 1);
    assert.deepEqual(Object.keys(orFilter.body.Resources[0]).sort(), ['id', 'meta', 'schemas', 'userName']);

    await pushed(h);
    let jira = h.jira.inspect('test_user_dfeef4c5');
    assert.ok(jira, 'the pushed user exists in Jira');
    assert.equal(jira.emailAddress, 'Test_User_dfeef4c5@contoso.com');
    assert.equal(jira.properties.department, 'Sales');
    assert.equal(jira.active, true);

    // Entra's PATCH: op in any case, no-path replace, manager as a bare id.
    const patched = await c.patch(`/Users/${id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'Replace', path: 'displayName', value: 'Renamed User' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'renamed@contoso.com' },
        { op: 'Add', path: `${ENT}:manager`, value: manager.body.id },
        { op: 'replace', value: { [`${ENT}:department`]: 'Marketing' } },
      ],
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.displayName, 'Renamed User');
    assert.deepEqual(patched.body[ENT].manager, { value: manager.body.id });
    assert.equal(patched.body.emails[0].value, 'renamed@contoso.com');
    await pushed(h);
    jira = h.jira.inspect('test_user_dfeef4c5')!;
    assert.equal(jira.displayName, 'Renamed User');
    assert.equal(jira.emailAddress, 'renamed@contoso.com');
    assert.equal(jira.properties.department, 'Marketing');
    assert.equal(jira.properties.managerName, 'The Boss');

    // The form of Entra's SDK example ("Example 5"): a bare manager path and a one-element list.
    const again = await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: 'manager', value: [{ $ref: `${h.base}/Users/${manager.body.id}`, value: manager.body.id }] }] });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body[ENT].manager.value, manager.body.id);
    assert.equal(again.body.manager, undefined, 'kept as the enterprise manager');

    // The manager cleared, then the user disabled with active as the string "False".
    const cleared = await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Remove', path: `${ENT}:manager` }] });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body[ENT].manager, undefined);
    const disabled = await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.active, false);
    await pushed(h);
    jira = h.jira.inspect('test_user_dfeef4c5')!;
    assert.equal(jira.active, false, 'active=false reaches Jira through the mapping');
    assert.equal(jira.properties.managerName ?? null, null, 'the cleared manager is cleared in Jira');

    // The push runs are in the run history with before → after per field.
    const runs = await h.server.store.runs.list({ connectorId: 'scim', limit: 50, offset: 0 });
    assert.ok(runs.length >= 3 && runs.every((r) => r.kind === 'push' && r.trigger === 'scim'), JSON.stringify(runs.map((r) => [r.kind, r.status])));

    const del = await c.del(`/Users/${id}`);
    assert.equal(del.status, 204);
    assert.equal((await c.get(`/Users/${id}`)).status, 404);
    await pushed(h);
    const last = (await h.server.store.runs.list({ connectorId: 'scim', limit: 1, offset: 0 }))[0]!;
    // The account was already inactive (active=false came first): the default cleanup has nothing to send.
    assert.equal(last.counts.disabled, 1, `the DELETE is a tombstone the cleanup handles: ${JSON.stringify(last.counts)}`);
    assert.equal(last.counts.usersWritten, 0, 'nothing is sent to Jira for an account already inactive');
    assert.equal(h.jira.inspect('test_user_dfeef4c5')?.active, false, 'the account stays inactive');
  });

  it('manages a group and its members with Entra\'s PATCH (add / remove with a value list)', async () => {
    const c = h.client;
    const a = await c.post('/Users', entraUser('alice@contoso.com'));
    const b = await c.post('/Users', entraUser('bob@contoso.com'));
    const lookup = await c.get(`/Groups?filter=${encodeURIComponent('displayName eq "jira-devs"')}&excludedAttributes=members`);
    assert.equal(lookup.body.totalResults, 0);
    const g = await c.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], externalId: 'g1', displayName: 'jira-devs', members: [] });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    const add = await c.patch(`/Groups/${g.body.id}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: 'members', value: [{ value: a.body.id }, { value: b.body.id }] }] });
    assert.equal(add.status, 204);
    const withMembers = await c.get(`/Groups/${g.body.id}`);
    assert.deepEqual(withMembers.body.members.map((m: any) => m.value).sort(), [a.body.id, b.body.id].sort());
    const noMembers = await c.get(`/Groups/${g.body.id}?excludedAttributes=members`);
    assert.equal(noMembers.body.members, undefined);
    // Entra asks whether a reference attribute has a value by filtering on members.
    const isMember = await c.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent(`id eq "${g.body.id}" and members eq "${a.body.id}"`)}`);
    assert.equal(isMember.body.totalResults, 1);
    assert.equal(isMember.body.Resources[0].members, undefined, 'excludedAttributes=members holds for lists too');
    const notMember = await c.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent(`id eq "${g.body.id}" and members eq "nobody"`)}`);
    assert.equal(notMember.body.totalResults, 0);
    const byName = await c.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "JIRA-DEVS"')}`);
    assert.equal(byName.body.Resources[0]?.id, g.body.id, 'displayName lookups ignore case');
    await pushed(h);
    assert.deepEqual(h.jira.inspect('alice')!.groups.filter((x) => x === 'jira-devs'), ['jira-devs']);
    const rm = await c.patch(`/Groups/${g.body.id}`, { schemas: [PATCH], Operations: [{ op: 'Remove', path: 'members', value: [{ value: a.body.id }] }] });
    assert.equal(rm.status, 204);
    await pushed(h);
    assert.ok(!h.jira.inspect('alice')!.groups.includes('jira-devs'), 'alice left the group in Jira');
    assert.ok(h.jira.inspect('bob')!.groups.includes('jira-devs'), 'bob is still in it');
    const userView = await c.get(`/Users/${b.body.id}`);
    assert.deepEqual(userView.body.groups.map((x: any) => x.display), ['jira-devs']);
  });
});
