// The source conformance fixture for Microsoft Entra ID: the Entra source against the Graph
// emulator, started in-process over TLS, driven through its control API (/_emulator/…) as a
// test in another process would drive it.
import { startGraphEmulator, type GraphEmulator } from '../../emulators/graph/index.ts';
import type { RecordedRequest } from '../../src/core/http.ts';
import type { SourceConnector } from '../../src/core/types.ts';
import { EntraSource } from '../../src/sources/entra/index.ts';
import { emulatedSources } from '../../src/sources/entra/testing.ts';
import { emptyOrg, expectedFrom, sampleOrg } from './sample-org.ts';
import type { Capability, RequestTally, SourceFixture, SourceSetup } from './source-suite.ts';
import { emulatorControl, faultControls, setupOverrides, type FaultPlaces } from './fixture-kit.ts';

const SECRET_ENV = 'IDSYNC_TEST_ENTRA_CONFORMANCE_SECRET';
/**
 * The connector filter of `filtered: true`, keeping enabled users. Written with `eq` it is a
 * plain Graph query; with `ne` an advanced one (ConsistencyLevel, the count on the first page,
 * managers through $batch since Graph refuses $expand there): both are run.
 */
export const FILTERS = { simple: 'accountEnabled eq true', advanced: 'accountEnabled ne false' } as const;
const ALWAYS: string[] = ['id', 'userPrincipalName', 'mail', 'displayName', 'accountEnabled'];
/** How the emulator answers an expired delta token (all three documented by Graph). */
export type ExpiryAnswer = 'syncStateNotFound' | 'resyncRequired' | 'gone';

/**
 * Which emulator requests a FaultSpec hits. The first page of a listing or change round is a
 * /users (or /users/delta) request without $skiptoken; later pages follow a nextLink carrying
 * one; `all` is every Graph call (single reads and $batch included), not the token endpoint.
 */
const WHERE: FaultPlaces = {
  'first-page': { pattern: '^/v1\\.0/users(/delta)?\\?(?!.*skiptoken)' },
  'later-pages': { path: '$skiptoken' },
  all: { pattern: '^/v1\\.0/' },
};

/** Capabilities that depend on what this branch's source implements, said instead of silently passed. */
function lacking(): Partial<Record<Capability, string>> {
  const missing: Partial<Record<Capability, string>> = {};
  const proto = EntraSource.prototype as Partial<SourceConnector>;
  if (typeof proto.changes !== 'function') missing.changes = 'EntraSource.changes() is not implemented on this branch yet';
  if (typeof proto.listGroups !== 'function') missing.listGroups = 'EntraSource.listGroups() is not implemented on this branch yet';
  return missing;
}

export interface EntraFixture extends SourceFixture {
  emulator: GraphEmulator;
  expireCheckpoints(answer?: ExpiryAnswer): Promise<void>;
  /** Moves the emulator's clock on (delta tokens live 7 days). */
  advanceClock(ms: number): Promise<void>;
}

export async function entraFixture(opts: { filter?: keyof typeof FILTERS } = {}): Promise<EntraFixture> {
  const filter = FILTERS[opts.filter ?? 'simple'];
  const emu: GraphEmulator = await startGraphEmulator({ org: sampleOrg() });
  const api = emulatorControl(emu);
  const control = api.control;
  const faults = faultControls(control, WHERE);
  const sources = emulatedSources(() => emu, SECRET_ENV);
  let tally: RequestTally = { total: 0, manager: 0, groups: 0 };
  let innerFaultsAtSeed = 0;

  /** Counts what a source asked Graph for: each request, and the manager and membership reads in it (inner $batch requests included). */
  const record = (r: RecordedRequest) => {
    const url = decodeURIComponent(r.url);
    if (!url.includes('/v1.0/')) return; // sign-in
    tally.total++;
    const text = url.endsWith('/$batch') ? String(r.body ?? '') : url;
    tally.manager += (text.match(/\/manager\b|\$expand=manager/g) ?? []).length;
    tally.groups += (text.match(/\/(transitive)?memberOf\b|\/groups\b/gi) ?? []).length;
  };

  const clearFaults = async () => {
    await faults.clearFaults();
    await control('/batch-faults', 'POST', { script: [] });
  };

  return {
    source(setup: SourceSetup = {}) {
      return sources.source(setupOverrides(setup, { setting: 'filter', value: filter }), record);
    },
    async seed(kind) {
      await sources.closeAll();
      await control('/reset');
      await clearFaults();
      const org = kind === 'empty' ? emptyOrg() : sampleOrg();
      await control('/org', 'POST', { org });
      tally = { total: 0, manager: 0, groups: 0 };
      innerFaultsAtSeed = emu.batchStats.innerFaults;
      return expectedFrom(org);
    },
    attributes: { name: 'displayName', probe: 'department', always: ALWAYS },
    filter: {
      describe: filter,
      includes: (u) => u.enabled,
      exclude: async (id) => void (await control(`/users/${id}`, 'PATCH', { accountEnabled: false })),
    },
    unknownRefs: ['00000000-0000-4000-8000-000000000000', "o'nobody@contoso.com", 'nobody-at-all'],
    unsupported: lacking(),
    groupMembers: 'direct',
    async setAttribute(id, name, value) {
      await control(`/users/${id}`, 'PATCH', { [name]: value });
    },
    async setManager(id, managerId) {
      await control(`/users/${id}/manager`, 'PUT', { managerId });
    },
    addMember: async (groupId, userId) => void (await control(`/groups/${groupId}/members`, 'POST', { add: [userId] })),
    removeMember: async (groupId, userId) => void (await control(`/groups/${groupId}/members`, 'POST', { remove: [userId] })),
    renameGroup: async (groupId, name) => void (await control(`/groups/${groupId}`, 'PATCH', { displayName: name })),
    deleteGroup: async (groupId) => void (await control(`/groups/${groupId}`, 'DELETE')),
    async deleteUser(id, how) {
      // Soft: into deleted items (delta: @removed "changed"); hard: permanently (delta: "deleted").
      if (how === 'soft') await control(`/users/${id}/soft-delete`);
      else await control(`/users/${id}`, 'DELETE');
    },
    expireCheckpoints: (answer: ExpiryAnswer = 'syncStateNotFound') => control('/delta/expire', 'POST', { answer }).then(() => undefined),
    fault: faults.fault,
    async storm() {
      // 5xx on 30% of the calls, and throttled requests inside $batch answers, as in a busy tenant.
      await faults.storm();
      await control('/batch-faults', 'POST', { script: [{ status: 429, retryAfterSeconds: 0, times: 15 }, { status: 503, times: 10 }] });
    },
    clearFaults,
    // The common faults count from the last reset (seed); inner $batch faults from the seed's baseline.
    faultsInjected: async () => (await faults.faultsInjected()) + emu.batchStats.innerFaults - innerFaultsAtSeed,
    resetRequests: () => void (tally = { total: 0, manager: 0, groups: 0 }),
    requests: () => ({ ...tally }),
    emulator: emu,
    advanceClock: (advanceMs) => control('/clock', 'POST', { advanceMs }).then(() => undefined),
    async close() {
      await sources.closeAll();
      await api.close();
      await emu.close();
    },
  };
}
