// The Confluence Cloud target against its emulator, through the shared conformance suite.
// Cloud cannot write account fields, so the generic tests probe through a user property.
import { startConfluenceCloudEmulator, type ConfluenceCloudEmulator } from '../../emulators/confluence-cloud/index.ts';
import { definition } from '../../src/targets/confluence-cloud/index.ts';
import { SCALAR_ENVELOPE } from '../../src/targets/confluence-cloud/connector.ts';
import type { FieldValues, Json, TargetUserRef } from '../../src/core/types.ts';
import { conformanceUser, emulatorHarness, runTargetConformance, type TargetHarness } from './target-suite.ts';

function connectorFor(emu: ConfluenceCloudEmulator, token: string) {
  const config = definition.configSchema.parse({
    id: 'confluence-cloud',
    type: 'confluence-cloud',
    baseUrl: emu.url,
    email: emu.admin.email,
    apiToken: { stored: 'confluence-cloud-token' },
    accessGroups: ['confluence-users'],
  });
  return definition.create(config, { storedSecret: (name) => (name === 'confluence-cloud-token' ? token : undefined), ca: emu.ca, fastRetries: true });
}

/** Stored property values as field values: non-object values sit in idsync's envelope. */
function fieldValue(json: string): Json {
  const v = JSON.parse(json) as Json;
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && SCALAR_ENVELOPE in v) return v[SCALAR_ENVELOPE]!;
  return v;
}

function inspect(emu: ConfluenceCloudEmulator, accountId: string): FieldValues | null {
  const a = emu.store.get(accountId);
  if (!a) return null;
  const values: FieldValues = {
    'user.displayName': a.displayName,
    'user.email': a.email,
    'user.active': a.active,
    groups: emu.store.groupsOf(accountId).map((g) => g.name).sort(),
  };
  for (const key of emu.store.propertyKeys(accountId)) values[`property.${key}`] = fieldValue(emu.store.getProperty(accountId, key)!.json);
  return values;
}

runTargetConformance('confluence-cloud', async (): Promise<TargetHarness> => {
  const emu = await startConfluenceCloudEmulator();
  return {
    connector: connectorFor(emu, emu.admin.apiToken),
    badCredentials: () => connectorFor(emu, 'not-the-token'),
    createConflict: 'fail',
    probeField: 'property.idsyncProbe',
    newUser: (suffix) => conformanceUser(suffix, { username: false, active: false }),
    async seedUser(values): Promise<TargetUserRef> {
      const a = emu.store.createAccount({ displayName: String(values['user.displayName']), email: String(values['user.email']) });
      return { key: a.accountId };
    },
    accessGroups: ['confluence-users'],
    seedGroup: async (name) => void emu.store.createGroup(name),
    inspect: async (ref) => inspect(emu, ref.key),
    groupExists: async (name) => emu.store.groupIdByName(name) !== undefined,
    ...emulatorHarness(emu),
  };
});
