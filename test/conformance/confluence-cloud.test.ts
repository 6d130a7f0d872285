// The Confluence Cloud target against its emulator, through the shared conformance suite.
// Cloud cannot write account fields, so the generic tests probe through a user property.
import { startConfluenceCloudEmulator, type ConfluenceCloudEmulator } from '../../emulators/confluence-cloud/index.ts';
import { definition } from '../../src/targets/confluence-cloud/index.ts';
import { SCALAR_ENVELOPE } from '../../src/targets/confluence-cloud/connector.ts';
import type { FieldValues, Json, TargetUserRef } from '../../src/core/types.ts';
import https from 'node:https';
import { runTargetConformance, type TargetHarness } from './target-suite.ts';

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
    newUser: (suffix) => ({ 'user.displayName': `Conformance ${suffix}`, 'user.email': `conf.${suffix}@example.com` }),
    async seedUser(values): Promise<TargetUserRef> {
      const a = emu.store.createAccount({ displayName: String(values['user.displayName']), email: String(values['user.email']) });
      return { key: a.accountId };
    },
    accessGroups: ['confluence-users'],
    seedGroup: async (name) => void emu.store.createGroup(name),
    inspect: async (ref) => inspect(emu, ref.key),
    groupExists: async (name) => emu.store.groupIdByName(name) !== undefined,
    setFaults: async (f) => emu.setFaults(f),
    writeCount: async () => emu.stats.writes,
    resetCounters: async () => emu.resetStats(),
    faultsInjected: async () => emu.stats.faultsInjected,
    reset: () => resetEmulator(emu),
    close: () => emu.close(),
  };
});

/** POST /_emulator/reset (re-seeds, clears faults and counters) over TLS with the emulator's CA. */
async function resetEmulator(emu: ConfluenceCloudEmulator): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = https.request(`${emu.url}/_emulator/reset`, { method: 'POST', ca: emu.ca }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`emulator reset answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}
