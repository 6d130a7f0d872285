import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TargetCapabilities } from '../core/types.ts';
import { previewRule } from './preview.ts';
import { PRESET_CATALOG, presetsFor } from './presets-catalog.ts';
import { validateMapping } from './validate.ts';
import { JIRA_LIKE, links, user } from './testing.ts';

// A target that can write every family the catalog uses.
const EVERYTHING: TargetCapabilities = {
  kind: 'everything',
  canCreateUsers: true,
  lifecycle: { disable: true, delete: false, anonymise: false, renameUsername: false, removeAccess: false },
  fields: [
    ...JIRA_LIKE.fields,
    { name: 'confluence.profile.', type: 'string', label: 'Profile' },
    { name: 'crowd.attribute.', type: 'string[]', label: 'Crowd attribute' },
    { name: 'atlassian.profile.', type: 'string', label: 'Atlassian profile' },
  ],
};

test('every catalog row is a valid rule with no issue of its own', () => {
  for (const row of presetsFor(EVERYTHING)) {
    // Row -1 issues are about the one-row table missing required fields, not about the row.
    const issues = validateMapping({ rules: [row.rule], capabilities: EVERYTHING }).filter((i) => i.row === 0);
    assert.deepEqual(issues, [], row.label);
  }
  assert.equal(presetsFor(EVERYTHING).length, PRESET_CATALOG.length);
});

test('presetsFor offers only rows the target can write', () => {
  const offered = presetsFor(JIRA_LIKE).map((r) => r.target);
  assert.ok(offered.includes('property.managerEmail'), "offered.includes('property.managerEmail')");
  assert.ok(offered.includes('user.username'), "offered.includes('user.username')");
  assert.equal(offered.some((t) => t.startsWith('confluence.') || t.startsWith('crowd.')), false);
});

test('catalog rows produce sensible values for a sample Entra user', async () => {
  const sample = user(
    {
      userPrincipalName: 'jane.doe_fabrikam.com#EXT#@contoso.onmicrosoft.com',
      mail: null,
      manager: { id: 'm1', mail: 'boss@contoso.com' },
      businessPhones: [],
      mobilePhone: '+49 170 000',
    },
    ['Staff'],
  );
  const byLabel = new Map(presetsFor(EVERYTHING).map((r) => [r.label, r.rule]));
  const value = async (label: string) => {
    const found = byLabel.get(label);
    assert.ok(found, label);
    const result = await previewRule(found, sample, links({ m1: 'boss' }), { capabilities: EVERYTHING });
    assert.ok(result.ok, label);
    return result.value;
  };
  assert.equal(await value('Email, with guests\' real address'), 'jane.doe@fabrikam.com');
  assert.equal(await value('Username from UPN (without domain, lower case)'), 'jane.doe', 'a guest gets the name from their real address');
  assert.equal(await value('Manager\'s email'), 'boss@contoso.com');
  assert.equal(await value('Manager (username in this product)'), 'boss');
  assert.equal(await value('Phone (Confluence profile)'), '+49 170 000');
  assert.equal(await value('Display name from given name and surname'), 'Alice Example');
  assert.deepEqual(await value('Department (Crowd attribute)'), ['Finance']);
});
