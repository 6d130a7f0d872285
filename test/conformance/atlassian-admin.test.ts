// The Atlassian Cloud organisation (admin API) target against its emulator, through the shared
// conformance suite. Accounts cannot be created here, so the suite seeds managed accounts.
import { startAtlassianAdminEmulator, type AtlassianAdminEmulator } from '../../emulators/atlassian-admin/index.ts';
import { definition } from '../../src/targets/atlassian-admin/index.ts';
import type { FieldValues, TargetUserRef } from '../../src/core/types.ts';
import { conformanceUser, emulatorHarness, runTargetConformance, type TargetHarness } from './target-suite.ts';

function connectorFor(emu: AtlassianAdminEmulator, apiKey: string) {
  const config = definition.configSchema.parse({
    id: 'org',
    type: 'atlassian-admin',
    orgId: emu.orgId,
    apiKey: { stored: 'org-key' },
    baseUrl: emu.url,
  });
  return definition.create(config, { storedSecret: (name) => (name === 'org-key' ? apiKey : undefined), fastRetries: true });
}

function inspect(emu: AtlassianAdminEmulator, accountId: string): FieldValues | null {
  const a = emu.store.accounts.get(accountId);
  // A deleted account is closed for its 14-day grace period and then removed; either way it is
  // no longer an account anyone can use or idsync may write.
  if (!a || a.deletedAt) return null;
  const values: FieldValues = {
    'user.displayName': a.name,
    'user.email': a.email,
    'user.active': a.account_status === 'active',
    'atlassian.profile.nickname': a.nickname,
    'atlassian.profile.zoneinfo': a.zoneinfo,
    'atlassian.profile.locale': a.locale,
  };
  for (const [k, v] of Object.entries(a.extended_profile)) values[`atlassian.profile.${k}`] = v ?? null;
  return values;
}

runTargetConformance('atlassian-admin', async (): Promise<TargetHarness> => {
  const emu = await startAtlassianAdminEmulator();
  return {
    connector: connectorFor(emu, emu.apiKey),
    badCredentials: () => connectorFor(emu, 'revoked-key'),
    createConflict: 'fail',
    newUser: (suffix) => conformanceUser(suffix, { username: false }),
    async seedUser(values): Promise<TargetUserRef> {
      const a = emu.store.add({ email: String(values['user.email']), name: String(values['user.displayName']), managed: true });
      return { key: a.account_id };
    },
    async seedUndeletable(values): Promise<TargetUserRef> {
      const a = emu.store.add({ email: String(values['user.email']), name: String(values['user.displayName']), managed: true, scim: true });
      return { key: a.account_id };
    },
    uniqueEmails: true,
    pseudonymEmailDomain: 'example.com',
    seedGroup: async () => undefined,
    inspect: async (ref) => inspect(emu, ref.key),
    groupExists: async () => false,
    ...emulatorHarness(emu),
  };
});
