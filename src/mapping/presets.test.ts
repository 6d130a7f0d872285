import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileReplacePattern, firstNonEmpty, guestToMail, joinNonEmpty, lower, regexReplace, stripDomain, upper } from './presets.ts';

test('$lower and $upper change case and pass absent values through', () => {
  assert.equal(lower('Alice@Contoso.COM'), 'alice@contoso.com');
  assert.equal(upper('fin-42'), 'FIN-42');
  assert.equal(lower(undefined), undefined);
  assert.equal(upper(null), undefined);
  assert.equal(lower(['ONE']), 'one', 'a one-element list is its element');
});

test('$stripDomain removes everything from the last "@"', () => {
  assert.equal(stripDomain('alice@contoso.com'), 'alice');
  assert.equal(stripDomain('"odd@local"@contoso.com'), '"odd@local"');
  assert.equal(stripDomain('no-domain'), 'no-domain');
  assert.equal(stripDomain(undefined), undefined);
});

test('$guestToMail decodes a B2B guest UPN and leaves other UPNs alone', () => {
  assert.equal(guestToMail('jane.doe_fabrikam.com#EXT#@contoso.onmicrosoft.com'), 'jane.doe@fabrikam.com');
  assert.equal(guestToMail('john_smith_fabrikam.com#EXT#@contoso.onmicrosoft.com'), 'john_smith@fabrikam.com', 'the last "_" is the "@"');
  assert.equal(guestToMail('jane.doe_fabrikam.com#ext#@contoso.onmicrosoft.com'), 'jane.doe@fabrikam.com', 'marker case does not matter');
  assert.equal(guestToMail('alice@contoso.com'), 'alice@contoso.com');
  assert.equal(guestToMail('nounderscore#EXT#@contoso.onmicrosoft.com'), 'nounderscore#EXT#@contoso.onmicrosoft.com');
  assert.equal(guestToMail(undefined), undefined);
});

test('$firstNonEmpty skips undefined, null, blank strings and empty lists', () => {
  assert.equal(firstNonEmpty(undefined, null, '', '   ', [], 'x', 'y'), 'x');
  assert.equal(firstNonEmpty(undefined, null), undefined);
  assert.equal(firstNonEmpty(0, 'x'), 0, 'zero is a value');
  assert.equal(firstNonEmpty(false, 'x'), false, 'false is a value');
});

test('$joinNonEmpty joins the non-empty members with the separator', () => {
  assert.equal(joinNonEmpty(['Jane', null, '', 'Doe'], ' '), 'Jane Doe');
  assert.equal(joinNonEmpty(['a', ['b', 'c']], '-'), 'a-b-c', 'nested lists are flattened');
  assert.equal(joinNonEmpty([1, true], '/'), '1/true');
  assert.equal(joinNonEmpty([null, '  '], ' '), undefined, 'nothing to join is no value');
  assert.equal(joinNonEmpty('solo', ','), 'solo');
  assert.throws(() => joinNonEmpty([{ a: 1 }], ','), /cannot join an object/);
});

test('$regexReplace replaces every match, with backreferences and flags', () => {
  assert.equal(regexReplace('FIN-0042', '^FIN-0*', ''), '42');
  assert.equal(regexReplace('a-b-c', '-', '_'), 'a_b_c', 'global by default');
  assert.equal(regexReplace('Doe, Jane', '^(\\w+), (\\w+)$', '$2 $1'), 'Jane Doe');
  assert.equal(regexReplace('ABC abc', 'abc', 'x', 'i'), 'x x');
  assert.equal(regexReplace(undefined, 'a', 'b'), undefined);
  assert.throws(() => regexReplace('x', '(', ''), /Invalid regular expression/);
  assert.throws(() => regexReplace('x', 'x', '', 'y'), /invalid regex flags "y"/);
  assert.throws(() => regexReplace('x', 42, ''), /pattern must be a string/);
});

test('compiled patterns are reused and restart from the beginning each time', () => {
  const first = compileReplacePattern('a', 'i');
  assert.equal(compileReplacePattern('a', 'i'), first);
  assert.equal(regexReplace('aaa', 'a', 'b'), 'bbb');
  assert.equal(regexReplace('aaa', 'a', 'b'), 'bbb');
});
