// The Jira Data Center target against its emulator, through the shared conformance suite.
import { startJiraDcEmulator, EMULATOR_ADMIN, type JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { definition } from '../../src/targets/jira-dc/index.ts';
import type { FieldValues, TargetUserRef } from '../../src/core/types.ts';
import { conformanceUser, emulatorHarness, runTargetConformance, type TargetHarness } from './target-suite.ts';

function connectorFor(emu: JiraDcEmulator, token: string) {
  const config = definition.configSchema.parse({
    id: 'jira',
    type: 'jira-dc',
    url: emu.url,
    auth: { type: 'pat', token: { stored: 'jira-pat' } },
  });
  return definition.create(config, { storedSecret: (name) => (name === 'jira-pat' ? token : undefined), fastRetries: true });
}

function toFieldValues(emu: JiraDcEmulator, key: string): FieldValues | null {
  const u = emu.inspect(key);
  if (!u) return null;
  const values: FieldValues = {
    'user.username': u.name,
    'user.displayName': u.displayName,
    'user.email': u.emailAddress,
    'user.active': u.active,
    groups: u.groups,
  };
  for (const [k, v] of Object.entries(u.properties)) values[`property.${k}`] = v as FieldValues[string];
  return values;
}

runTargetConformance('jira-dc', async (): Promise<TargetHarness> => {
  const emu = await startJiraDcEmulator();
  return {
    connector: connectorFor(emu, EMULATOR_ADMIN.pat),
    badCredentials: () => connectorFor(emu, 'not-a-valid-token'),
    createConflict: 'link',
    newUser: (suffix) => conformanceUser(suffix),
    async seedUser(values): Promise<TargetUserRef> {
      const u = emu.store.createUser({
        name: String(values['user.username']),
        displayName: String(values['user.displayName']),
        emailAddress: String(values['user.email']),
        active: values['user.active'] !== false,
      });
      return { key: u.key, username: u.name };
    },
    async seedUndeletable(values): Promise<TargetUserRef> {
      const u = emu.store.createUser({
        name: String(values['user.username']),
        displayName: String(values['user.displayName']),
        emailAddress: String(values['user.email']),
        projectLeadOf: ['PROJ'],
      });
      return { key: u.key, username: u.name };
    },
    seedGroup: async (name) => emu.store.ensureGroup(name),
    inspect: async (ref) => toFieldValues(emu, ref.key),
    groupExists: async (name) => emu.store.hasGroup(name),
    ...emulatorHarness(emu),
  };
});
