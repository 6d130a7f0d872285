// Active Directory's shapes without a domain controller: objectGUID and objectSid bytes, range
// retrieval of a member list, the userAccountControl rule, values for the mapping, and the
// catalogue from AD-style schema definitions. The byte layouts are Microsoft's documented ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryText, filterValue, firstRdnValue, guidFromBytes, guidToBytes, mappedValue, normalizeDn, sidFromBytes } from './values.ts';
import { rangeOf, readRanges } from './groups.ts';
import { isEnabled } from './users.ts';
import { catalogueFromSchema, parseAttributeType } from './catalogue.ts';
import { PRESETS, settingsFor } from './presets.ts';
import { ldapConfigSchema } from './config.ts';
import type { LdapConnection, RawEntry, SearchSpec } from './connection.ts';

test('objectGUID: the first three groups little-endian, as Windows prints it; and back for filters', () => {
  // {6F9619FF-8B86-D011-B42D-00C04FC964FF} is stored as FF 19 96 6F 86 8B 11 D0 B4 2D 00 C0 4F C9 64 FF.
  const bytes = Buffer.from('ff19966f868b11d0b42d00c04fc964ff', 'hex');
  assert.equal(guidFromBytes(bytes), '6f9619ff-8b86-d011-b42d-00c04fc964ff');
  assert.deepEqual(guidToBytes('6F9619FF-8B86-D011-B42D-00C04FC964FF'), bytes);
  assert.equal(filterValue(bytes), '\\ff\\19\\96\\6f\\86\\8b\\11\\d0\\b4\\2d\\00\\c0\\4f\\c9\\64\\ff');
  assert.equal(guidToBytes('not-a-guid'), undefined);
});

test('objectSid as S-R-I-S…, other binary values as base64', () => {
  // BUILTIN\Administrators: S-1-5-32-544.
  assert.equal(sidFromBytes(Buffer.from('01020000000000052000000020020000', 'hex')), 'S-1-5-32-544');
  assert.equal(binaryText('objectSid', Buffer.from('01020000000000052000000020020000', 'hex')), 'S-1-5-32-544');
  assert.equal(binaryText('thumbnailPhoto', Buffer.from([0xff, 0xd8, 0x00, 0xfe])), '/9gA/g==');
});

test('values: one value a string, several a list, declared lists always lists; DN helpers', () => {
  assert.equal(mappedValue('title', ['Engineer'], false), 'Engineer');
  assert.deepEqual(mappedValue('title', ['A', 'B'], false), ['A', 'B']);
  assert.deepEqual(mappedValue('proxyAddresses', ['SMTP:a@b'], true), ['SMTP:a@b']);
  assert.equal(mappedValue('title', [], false), undefined);
  assert.equal(normalizeDn('CN=Smith\\, John , OU=Staff,DC=corp'), 'cn=smith\\,john,ou=staff,dc=corp');
  assert.equal(firstRdnValue('CN=Smith\\, John,OU=Staff'), 'Smith, John');
  assert.equal(filterValue('a*(b)\\'), 'a\\2a\\28b\\29\\5c');
});

test('userAccountControl bit 2 disables; ppolicy presence disables; equals compares case-insensitively', () => {
  const e = (name: string, v: string[]): RawEntry => ({ dn: 'cn=x', attrs: new Map([[name, v]]) });
  const ad = PRESETS.activeDirectory.disabled;
  assert.equal(isEnabled(e('userAccountControl', ['512']), ad), true);
  assert.equal(isEnabled(e('userAccountControl', ['514']), ad), false);
  assert.equal(isEnabled(e('userAccountControl', ['66050']), ad), false, '0x10202: disabled, password never expires');
  assert.equal(isEnabled(e('other', ['x']), PRESETS.openldap.disabled), true);
  assert.equal(isEnabled(e('pwdAccountLockedTime', ['000001010000Z']), PRESETS.openldap.disabled), false);
  assert.equal(isEnabled(e('nsAccountLock', ['true']), { attribute: 'nsAccountLock', when: 'equals', value: 'TRUE' }), false);
});

test('range retrieval: member;range=0-1499 is followed block by block until the block ending in *', async () => {
  const all = Array.from({ length: 3200 }, (_, i) => `CN=User ${i},OU=Staff,DC=corp`);
  const asked: string[] = [];
  const block = (start: number) => {
    const end = Math.min(start + 1500, all.length);
    return { type: `member;range=${start}-${end === all.length ? '*' : end - 1}`, values: all.slice(start, end) };
  };
  const side = {
    async all(spec: SearchSpec): Promise<RawEntry[]> {
      asked.push(spec.attributes[0]!);
      const start = Number(/range=(\d+)-/.exec(spec.attributes[0]!)![1]);
      const b = block(start);
      return [{ dn: 'CN=Big,OU=Groups,DC=corp', attrs: new Map([[b.type, b.values]]) }];
    },
  };
  const conn = { side: async () => side } as unknown as LdapConnection;
  const first = block(0);
  const members = await readRanges(conn, { dn: 'CN=Big,OU=Groups,DC=corp', attrs: new Map([[first.type, first.values]]) }, 'member');
  assert.deepEqual(members, all);
  assert.deepEqual(asked, ['member;range=1500-*', 'member;range=3000-*']);
  assert.deepEqual(rangeOf('member;range=0-1499'), { attribute: 'member', start: 0, end: 1499 });
  assert.deepEqual(rangeOf('member;range=3000-*'), { attribute: 'member', start: 3000, end: undefined });
  // A plain attribute (OpenLDAP, or a small AD group) needs no further read.
  assert.deepEqual(await readRanges(conn, { dn: 'cn=small', attrs: new Map([['member', ['cn=a']]]) }, 'member'), ['cn=a']);
});

test("catalogue: the user class chain's attributes from AD-style schema definitions, binary ones said so", () => {
  const s = settingsFor(ldapConfigSchema.parse({ type: 'ldap', preset: 'activeDirectory', url: 'ldaps://dc1:636', bindDn: 'CN=x', bindPassword: { env: 'X' }, users: { baseDn: 'DC=corp' } }));
  const types = [
    "( 1.2.840.113556.1.4.44 NAME 'department' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )",
    "( 1.2.840.113556.1.4.7000.102.50 NAME 'thumbnailPhoto' SYNTAX '1.3.6.1.4.1.1466.115.121.1.40' SINGLE-VALUE )",
    "( 1.2.840.113556.1.2.210 NAME 'proxyAddresses' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' )",
    "( 2.5.4.35 NAME 'userPassword' SYNTAX '1.3.6.1.4.1.1466.115.121.1.40' )",
    "( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )",
  ];
  const classes = [
    "( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL MAY ( thumbnailPhoto $ userPassword ) )",
    "( 2.5.6.7 NAME 'organizationalPerson' SUP person STRUCTURAL MAY ( department ) )",
    "( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( cn ) )",
    "( 1.2.840.113556.1.3.46 NAME 'mailRecipient' SUP top AUXILIARY MAY ( proxyAddresses ) )",
  ];
  const byPath = new Map(catalogueFromSchema(s, types, classes).map((a) => [a.path, a]));
  assert.equal(byPath.get('department')?.type, 'string');
  assert.match(byPath.get('thumbnailPhoto')?.description ?? '', /base64/);
  assert.equal(byPath.get('proxyAddresses')?.type, 'string[]', 'declared multi-valued');
  assert.ok(byPath.has('cn'), 'from the superclass');
  assert.ok(!byPath.has('userPassword'), 'never the password');
  assert.deepEqual(parseAttributeType("( 1.1 NAME ( 'a' 'b' ) DESC 'it''s' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )").names, ['a', 'b']);
});
