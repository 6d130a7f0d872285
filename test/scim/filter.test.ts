// Value-filter attribute paths as RFC 7644 §3.4.2.2 defines them: in
// `emails[type eq "work"].value eq "x"` only the e-mails whose type is work are compared, so a
// user whose home address is x does not match. Checked on the evaluator and through a running
// SCIM endpoint.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matches, parseFilter, scopeValuePaths } from '../../src/sources/scim/filter.ts';
import { startScimHarness } from './harness.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const both = { userName: 'a@x.com', emails: [{ type: 'work', value: 'work@x.com' }, { type: 'home', value: 'home@x.com', primary: true }] };
const test = (f: string, r: unknown = both) => matches(parseFilter(f), r);

describe('SCIM filters: value-filter paths', () => {
  it('compares only the values the filter selects', () => {
    assert.equal(test('emails[type eq "work"].value eq "work@x.com"'), true, 'the work e-mail matches');
    assert.equal(test('emails[type eq "work"].value eq "WORK@x.com"'), true, 'ignoring case');
    assert.equal(test('emails[type eq "work"].value eq "home@x.com"'), false, 'the home e-mail is not a work e-mail');
    assert.equal(test('emails[type eq "home"].value sw "home"'), true, 'sw on the home e-mail');
    assert.equal(test('emails[type eq "home"].value ew "work@x.com"'), false, 'ew scoped as well');
    assert.equal(test('emails[type eq "work"].primary pr'), false, 'the work e-mail has no primary');
    assert.equal(test('emails[type eq "home"].primary pr'), true, 'the home e-mail has one');
    assert.equal(test('not (emails[type eq "work"].value eq "home@x.com")'), true, 'inside not');
    assert.equal(test('userName eq "a@x.com" and emails[type eq "work"].value co "work"'), true, 'with and');
  });

  it('a value filter holds for one value that meets all of it, not for parts met by different values', () => {
    assert.equal(test('emails[type eq "work" and value eq "home@x.com"]'), false, 'no single e-mail is both');
    assert.equal(test('emails[type eq "work" and value eq "work@x.com"]'), true, 'one e-mail is both');
  });

  it('leaves quoted text alone and other filters as they are', () => {
    assert.equal(scopeValuePaths('userName eq "a[b].c eq 1"'), 'userName eq "a[b].c eq 1"');
    assert.equal(scopeValuePaths('emails[type eq "w\\"]"].value eq "y"'), 'emails[(type eq "w\\"]") and value eq "y"]');
    assert.equal(scopeValuePaths('emails[type eq "work"]'), 'emails[type eq "work"]');
    assert.equal(test('emails[value eq "x]"].value eq "x]"', { emails: [{ value: 'x]' }] }), true, 'a bracket inside a string');
  });

  it('through the endpoint: a lookup by work e-mail does not find the user whose home e-mail it is', async () => {
    const h = await startScimHarness();
    try {
      const r = await h.client.post('/Users', { schemas: [USER], userName: 'ann@x.com', emails: [{ type: 'work', value: 'ann@x.com', primary: true }, { type: 'home', value: 'bob@x.com' }], active: true });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const q = (f: string) => h.client.get(`/Users?filter=${encodeURIComponent(f)}`);
      assert.equal((await q('emails[type eq "work"].value eq "bob@x.com"')).body.totalResults, 0, 'bob@x.com is not a work e-mail');
      assert.equal((await q('emails[type eq "home"].value eq "bob@x.com"')).body.totalResults, 1, 'it is a home e-mail');
      assert.equal((await q('emails[type eq "work"].value eq "ann@x.com"')).body.totalResults, 1, 'the work e-mail');
      assert.equal((await q('emails.value eq "bob@x.com"')).body.totalResults, 1, 'any e-mail');
    } finally {
      await h.close();
    }
  });
});
