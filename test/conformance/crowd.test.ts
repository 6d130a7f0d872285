// The Crowd target against its emulator, through the shared conformance suite.
import { startCrowdEmulator, type CrowdEmulator } from '../../emulators/crowd/index.ts';
import { definition } from '../../src/targets/crowd/index.ts';
import type { FieldValues, TargetUserRef } from '../../src/core/types.ts';
import { conformanceUser, emulatorHarness, runTargetConformance, type TargetHarness } from './target-suite.ts';

function connectorFor(emu: CrowdEmulator, password: string) {
  const config = definition.configSchema.parse({
    id: 'crowd',
    type: 'crowd',
    baseUrl: emu.url,
    applicationName: emu.application.name,
    applicationPassword: { stored: 'crowd-app' },
  });
  return definition.create(config, { storedSecret: (name) => (name === 'crowd-app' ? password : undefined), fastRetries: true });
}

function inspect(emu: CrowdEmulator, key: string): FieldValues | null {
  const u = emu.store.users.get(key);
  if (!u) return null;
  const values: FieldValues = {
    'user.username': u.name,
    'user.displayName': u.displayName,
    'user.email': u.email,
    'user.active': u.active,
    'crowd.firstName': u.firstName,
    'crowd.lastName': u.lastName,
    groups: emu.store.groupsOf(u).map((g) => g.name).sort(),
  };
  for (const [name, list] of u.attributes) values[`crowd.attribute.${name}`] = [...list];
  return values;
}

runTargetConformance('crowd', async (): Promise<TargetHarness> => {
  const emu = await startCrowdEmulator();
  return {
    connector: connectorFor(emu, emu.application.password),
    badCredentials: () => connectorFor(emu, 'not-the-password'),
    createConflict: 'link',
    newUser: (suffix) => conformanceUser(suffix),
    async seedUser(values): Promise<TargetUserRef> {
      const display = String(values['user.displayName']);
      const u = emu.store.addUser({
        name: String(values['user.username']),
        displayName: display,
        firstName: display.split(' ')[0]!,
        lastName: display.split(' ').slice(1).join(' ') || display,
        email: String(values['user.email']),
        active: values['user.active'] !== false,
        password: 'seeded',
      });
      return { key: u.key, username: u.name };
    },
    seedGroup: async (name) => void emu.store.addGroup(name),
    inspect: async (ref) => inspect(emu, ref.key),
    groupExists: async (name) => emu.store.group(name) !== undefined,
    ...emulatorHarness(emu),
  };
});
