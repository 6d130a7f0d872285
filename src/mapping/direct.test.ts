import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledExpression } from './expressions.ts';

// Simple preset calls skip JSONata; these tests hold the shortcut to JSONata's own answers.
const SHORTCUT_EXPRESSIONS = [
  '$lower($stripDomain($guestToMail(userPrincipalName)))',
  '$firstNonEmpty(mail, $guestToMail(userPrincipalName))',
  '$firstNonEmpty(mail, otherMails, "none")',
  '$joinNonEmpty([givenName, surname], " ")',
  '$joinNonEmpty([givenName, [surname, "x"], otherMails], "/")',
  '$upper(onPremisesExtensionAttributes.extensionAttribute3)',
  '$regexReplace(employeeId, "^0+", "")',
  '$targetUsername(manager.id)',
  '$lower(identities.issuer)',
  '$firstNonEmpty(nosuch.deep, 42, null)',
  '$joinNonEmpty(identities.issuer, ",")',
];

const INPUTS: Record<string, unknown>[] = [
  {
    userPrincipalName: 'jane.doe_fabrikam.com#EXT#@contoso.onmicrosoft.com',
    mail: null,
    otherMails: ['a@x.com', 'b@x.com'],
    givenName: 'Jane',
    surname: 'Doe',
    employeeId: '000123',
    onPremisesExtensionAttributes: { extensionAttribute3: 'cc-7' },
    manager: { id: 'm1' },
    identities: [{ issuer: 'Contoso.com' }],
  },
  {
    userPrincipalName: 'Bob@Contoso.com',
    mail: 'bob@contoso.com',
    givenName: '',
    identities: [{ issuer: 'A.com' }, { issuer: 'B.com' }],
    manager: { id: 'unknown' },
  },
  {},
];

const lookups = () => {
  const state = { unresolved: 0 };
  return {
    state,
    targetUsernameOf: (id: string) => (id === 'm1' ? 'boss' : undefined),
    onUnresolved: () => {
      state.unresolved++;
    },
  };
};

test('simple preset calls run without JSONata', () => {
  for (const source of SHORTCUT_EXPRESSIONS) assert.equal(new CompiledExpression(source).runsDirectly, true, source);
  for (const source of ['$lower(mail) & "x"', '$lower(emails[0])', '$lowercase(mail)', '$lower($$.mail)', '$f(mail)']) {
    assert.equal(new CompiledExpression(source).runsDirectly, false, source);
  }
});

test('the shortcut gives the same results as JSONata', async () => {
  for (const source of SHORTCUT_EXPRESSIONS) {
    const direct = new CompiledExpression(source, 10_000);
    const viaJsonata = new CompiledExpression(source, 10_000, { allowDirect: false });
    for (const [i, input] of INPUTS.entries()) {
      const a = lookups();
      const b = lookups();
      const expected = await viaJsonata.evaluate(input, b);
      const actual = await direct.evaluate(input, a);
      // JSONata marks its sequences with extra properties; compare plain JSON forms.
      assert.deepEqual(JSON.parse(JSON.stringify([actual])), JSON.parse(JSON.stringify([expected])), `${source} on input ${i}`);
      assert.equal(a.state.unresolved, b.state.unresolved, `${source} on input ${i}: unresolved references`);
    }
  }
});

test('errors from presets surface the same way', async () => {
  const source = '$joinNonEmpty([givenName, manager], " ")';
  const input = { givenName: 'x', manager: { id: 'm' } };
  await assert.rejects(new CompiledExpression(source).evaluate(input, lookups()), /^Error: expression error: \$joinNonEmpty: cannot join an object$/);
  await assert.rejects(new CompiledExpression(source, 10_000, { allowDirect: false }).evaluate(input, lookups()), /\$joinNonEmpty: cannot join an object/);
});
