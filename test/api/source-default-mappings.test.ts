// The new-connector form pre-fills the mapping of the source type picked: /source-types answers
// each built-in type's default mapping, and every attribute a default reads is one that source
// offers (a default naming Entra's userPrincipalName for Okta would be wrong from the start).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceDefinition, sourceTypes } from '../../src/sources/registry.ts';
import { targetDefinition, targetTypes } from '../../src/targets/registry.ts';
import { harness, type Client, type Harness } from './helpers.ts';

const BUILT_IN = ['entra', 'okta', 'google', 'keycloak', 'ldap', 'scim'];
let h: Harness;
let admin: Client;

before(async () => {
  // The real registry: every built-in type's definition answers its own default mapping.
  h = await harness({ registry: { sourceTypes: BUILT_IN, targetTypes: ['jira-dc'], source: sourceDefinition, target: targetDefinition } });
  admin = h.admin;
});
after(() => h?.dispose());

test('each built-in source type answers a default mapping in its own attribute names', async () => {
  assert.ok(BUILT_IN.every((t) => sourceTypes.includes(t)), 'the test names the registry’s built-in types');
  assert.ok(targetTypes.includes('jira-dc'), 'jira-dc is registered');
  const res = await admin.get('/api/v1/source-types');
  assert.equal(res.status, 200, res.text);
  const byType = new Map<string, any>(res.body.sourceTypes.map((s: any) => [s.type, s]));
  const usernameSource: Record<string, string> = {};
  for (const type of BUILT_IN) {
    const t = byType.get(type);
    assert.ok(t?.available, `${type} is available: ${t?.error}`);
    const rules: Array<{ target: string; source: string; flow: string; whenEmpty: string }> = t.defaultMapping;
    assert.deepEqual(rules.map((r) => r.target), ['user.username', 'user.displayName', 'user.email'], `${type}: the three fields every target needs`);
    const known = new Set<string>(t.knownAttributes.map((a: { path: string }) => a.path));
    for (const r of rules) {
      assert.equal(r.flow, 'always');
      assert.equal(r.whenEmpty, 'keep');
      // Plain attribute paths must be offered by the source; an expression names its attributes inside.
      const names = /^[A-Za-z_][\w.]*$/.test(r.source) ? [r.source] : [...r.source.matchAll(/\b([a-z][A-Za-z]+)\b/g)].map((m) => m[1]!).filter((n) => !['join'].includes(n));
      for (const n of names) assert.ok(known.has(n), `${type}: ${r.target} reads "${n}", which the source offers (known: ${[...known].slice(0, 8).join(', ')}…)`);
    }
    usernameSource[type] = rules[0]!.source;
  }
  assert.equal(usernameSource.entra, 'userPrincipalName');
  assert.equal(usernameSource.okta, 'login', 'Okta starts from its own login, not Entra’s userPrincipalName');
  assert.equal(usernameSource.google, 'primaryEmail');
  assert.equal(usernameSource.scim, 'userName');
});
