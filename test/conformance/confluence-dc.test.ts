// The Confluence Data Center target against its emulator, through the shared conformance suite.
// Basic auth with the administrator's password, so the profile form (and rename) is available.
import { startConfluenceDcEmulator, type ConfluenceDcEmulator } from '../../emulators/confluence-dc/index.ts';
import { definition } from '../../src/targets/confluence-dc/index.ts';
import type { FieldValues, TargetUserRef } from '../../src/core/types.ts';
import { conformanceUser, emulatorHarness, runTargetConformance, type TargetHarness } from './target-suite.ts';

function connectorFor(emu: ConfluenceDcEmulator, password: string) {
  const config = definition.configSchema.parse({
    id: 'confluence',
    type: 'confluence-dc',
    url: emu.url,
    auth: { type: 'basic', username: emu.admin.username, password: { stored: 'confluence-password' } },
  });
  return definition.create(config, { storedSecret: (name) => (name === 'confluence-password' ? password : undefined), fastRetries: true });
}

function toFieldValues(emu: ConfluenceDcEmulator, key: string): FieldValues | null {
  const u = emu.store.getByKey(key);
  if (!u) return null;
  const values: FieldValues = {
    'user.username': u.username,
    'user.displayName': u.fullName,
    'user.email': u.email,
    'user.active': u.active,
    groups: emu.store.groupsOf(u.userKey),
  };
  for (const [f, v] of Object.entries(u.profile)) values[`confluence.profile.${f}`] = v ?? null;
  return values;
}

runTargetConformance('confluence-dc', async (): Promise<TargetHarness> => {
  const emu = await startConfluenceDcEmulator();
  return {
    connector: connectorFor(emu, emu.admin.password),
    badCredentials: () => connectorFor(emu, 'wrong-password'),
    createConflict: 'link',
    newUser: (suffix) => conformanceUser(suffix),
    async seedUser(values): Promise<TargetUserRef> {
      const u = emu.store.createUser({
        username: String(values['user.username']),
        fullName: String(values['user.displayName']),
        email: String(values['user.email']),
        active: values['user.active'] !== false,
      });
      return { key: u.userKey, username: u.username };
    },
    async seedUndeletable(values): Promise<TargetUserRef> {
      const u = emu.store.createUser({
        username: String(values['user.username']),
        fullName: String(values['user.displayName']),
        email: String(values['user.email']),
        readOnlyDirectory: true,
      });
      return { key: u.userKey, username: u.username };
    },
    seedGroup: async (name) => void emu.store.createGroup(name),
    inspect: async (ref) => toFieldValues(emu, ref.key),
    groupExists: async (name) => emu.store.getGroup(name) !== undefined,
    ...emulatorHarness(emu),
  };
});
