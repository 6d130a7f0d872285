// The Jira Cloud target against its emulator, through the shared conformance suite. Jira Cloud
// cannot write identity fields, so the generic write tests probe a user property instead.
import { startJiraCloudEmulator, type JiraCloudEmulator } from '../../emulators/jira-cloud/index.ts';
import { definition } from '../../src/targets/jira-cloud/index.ts';
import type { FieldValues, Json, TargetUserRef } from '../../src/core/types.ts';
import { conformanceUser, emulatorHarness, runTargetConformance, type TargetHarness } from './target-suite.ts';

function connectorFor(emu: JiraCloudEmulator, token: string) {
  const config = definition.configSchema.parse({
    id: 'jira-cloud',
    type: 'jira-cloud',
    baseUrl: emu.url,
    email: emu.credentials.email,
    apiToken: { stored: 'jira-cloud-token' },
    accessGroups: ['jira-software-users'],
  });
  return definition.create(config, { storedSecret: (name) => (name === 'jira-cloud-token' ? token : undefined), fastRetries: true });
}

function inspect(emu: JiraCloudEmulator, accountId: string): FieldValues | null {
  const a = emu.store.accounts.get(accountId);
  if (!a) return null;
  const values: FieldValues = {
    'user.displayName': a.displayName,
    'user.email': a.emailAddress,
    'user.active': a.active,
    groups: emu.store.groupsOf(accountId).map((g) => g.name).sort(),
  };
  for (const key of emu.store.propertyKeys(accountId)) values[`property.${key}`] = JSON.parse(emu.store.getProperty(accountId, key)!) as Json;
  return values;
}

runTargetConformance('jira-cloud', async (): Promise<TargetHarness> => {
  const emu = await startJiraCloudEmulator();
  return {
    connector: connectorFor(emu, emu.credentials.apiToken),
    badCredentials: () => connectorFor(emu, 'not-the-token'),
    createConflict: 'fail',
    probeField: 'property.idsyncProbe',
    newUser: (suffix) => conformanceUser(suffix, { username: false, active: false }),
    async seedUser(values): Promise<TargetUserRef> {
      const a = emu.store.addAccount({ displayName: String(values['user.displayName']), emailAddress: String(values['user.email']) });
      return { key: a.accountId };
    },
    accessGroups: ['jira-software-users'],
    seedGroup: async (name) => void emu.store.createGroup(name),
    inspect: async (ref) => inspect(emu, ref.key),
    groupExists: async (name) => emu.store.groupByName(name) !== undefined,
    ...emulatorHarness(emu),
  };
});
