// The source conformance fixture for Google Workspace: the Google source against the Google
// emulator (in-process, TLS), driven through its control API as a test in another process would.
import { GoogleDirectory, startGoogleEmulator, type GoogleEmulator } from '../../emulators/google/index.ts';
import type { ScriptedFault } from '../../emulators/common/server.ts';
import type { Org } from '../../emulators/org/types.ts';
import type { RecordedRequest } from '../../src/core/http.ts';
import { emulatedGoogleSources } from '../../src/sources/google/testing.ts';
import { sampleOrg } from './sample-org.ts';
import type { ExpectedDirectory, RequestTally, SourceFixture, SourceSetup } from './source-suite.ts';
import { emulatorControl, faultControls, setupOverrides, type FaultPlaces } from './fixture-kit.ts';

const KEY_ENV = 'IDSYNC_TEST_GOOGLE_CONFORMANCE_KEY';
/** The connector query of `filtered: true`: Google's own syntax, passed as written. */
export const GOOGLE_FILTER = 'isSuspended=false';

/** First page: users.list without a pageToken; later pages carry one; `all`: every Directory API call. */
const WHERE: FaultPlaces = {
  'first-page': { pattern: '^/admin/directory/v1/users\\?(?!.*pageToken)' },
  'later-pages': { pattern: '^/admin/directory/v1/users\\?.*pageToken' },
  all: { pattern: '^/admin/directory/v1/' },
};

/** What Google answers for a listing with nothing (more) in it: no `users`, no `nextPageToken`. */
const EMPTY_PAGE: Partial<ScriptedFault> = { status: 200, body: { kind: 'admin#directory#users', etag: '"emptied-by-fault"' } };

/** What the suite should read from `org` as Google serves it (guests are not Workspace users). */
export function expectedGoogle(org: Org): ExpectedDirectory {
  const dir = new GoogleDirectory(org);
  const idOf = new Map(dir.users.map((u) => [u.primaryEmail, u.id]));
  return {
    users: dir.users.map((u) => {
      const manager = u.relations?.find((r) => r.type === 'manager')?.value;
      return {
        id: u.id,
        refs: [u.primaryEmail],
        managerId: manager ? (idOf.get(manager) ?? null) : null,
        groups: dir.groups.filter((g) => g.members.includes(u.id)).map((g) => g.name),
        enabled: !u.suspended,
        attrs: { fullName: u.name.fullName, department: u.organizations?.[0]?.department ?? null },
        keys: { email: u.primaryEmail },
      };
    }),
    groups: dir.groups.map((g) => ({ id: g.id, name: g.name, members: [...g.members] })),
  };
}

export interface GoogleFixture extends SourceFixture {
  emulator: GoogleEmulator;
  control(path: string, method?: string, body?: unknown): Promise<unknown>;
}

export async function googleFixture(): Promise<GoogleFixture> {
  const emu = await startGoogleEmulator({ org: sampleOrg() });
  const api = emulatorControl(emu);
  const control = api.control;
  const faults = faultControls(control, WHERE, EMPTY_PAGE);
  const sources = emulatedGoogleSources(() => emu, KEY_ENV);
  let tally: RequestTally = { total: 0, manager: 0, groups: 0 };

  /** Directory API requests; the manager is read when a user request asks for `relations`; groups by the group routes. */
  const record = (r: RecordedRequest) => {
    const url = decodeURIComponent(r.url);
    if (!url.includes('/admin/directory/v1/')) return;
    tally.total++;
    if (/\/users(\/|\?)/.test(url) && /[(,]relations[,)&]|fields=[^&]*relations/.test(url)) tally.manager++;
    if (/\/groups(\/|\?)/.test(url)) tally.groups++;
  };

  const clearFaults = async () => {
    await faults.clearFaults();
    await control('/quota', 'POST', { off: true });
  };

  return {
    source(setup: SourceSetup = {}) {
      return sources.source(setupOverrides(setup, { setting: 'query', value: GOOGLE_FILTER }), record);
    },
    async seed() {
      await sources.closeAll();
      await control('/reset');
      const org = sampleOrg();
      await control('/org', 'POST', { org });
      tally = { total: 0, manager: 0, groups: 0 };
      return expectedGoogle(org);
    },
    attributes: { name: 'fullName', probe: 'department', always: ['id', 'primaryEmail', 'fullName', 'active', 'suspended', 'archived'] },
    filter: {
      describe: GOOGLE_FILTER,
      includes: (u) => u.enabled,
      exclude: async (id) => void (await control(`/users/${id}`, 'PATCH', { suspended: true })),
    },
    // A numeric id of Google's shape that no user has, a GUID (not an id Google gives), an address, a name.
    unknownRefs: ['100000000000000000000', '00000000-0000-4000-8000-000000000000', "o'nobody@contoso.com", 'nobody-at-all'],
    unsupported: {
      changes: "the Directory API has no pollable change feed (users.watch pushes to a web hook idsync would have to expose); changes are found by full reads, deletions by a complete one",
      expireCheckpoint: 'no change feed, hence no checkpoints',
      filteredChanges: 'no change feed',
      emptyDirectory: 'a Google Workspace account always holds at least the administrator the service account acts as',
    },
    groupMembers: 'direct',
    async setAttribute(id, name, value) {
      await control(`/users/${id}`, 'PATCH', { [name]: value });
    },
    async setManager(id, managerId) {
      const manager = managerId ? ((await control(`/users/${managerId}`, 'GET')) as { primaryEmail: string }).primaryEmail : null;
      await control(`/users/${id}`, 'PATCH', { manager });
    },
    addMember: async (groupId, userId) => void (await control(`/groups/${groupId}/members`, 'POST', { add: [userId] })),
    removeMember: async (groupId, userId) => void (await control(`/groups/${groupId}/members`, 'POST', { remove: [userId] })),
    // A deleted Google user is restorable for 20 days but never listed nor found by users.get: both read the same.
    deleteUser: async (id) => void (await control(`/users/${id}`, 'DELETE')),
    fault: faults.fault,
    async storm() {
      // 5xx on 30% of the calls, and Google's per-user quota answers (403 userRateLimitExceeded).
      await faults.storm();
      await control('/quota', 'POST', { capacity: 4, perSecond: 200, answer: 'userRateLimitExceeded' });
    },
    clearFaults,
    faultsInjected: async () => (await faults.faultsInjected()) + ((await control('/quota', 'GET')) as { refusals: number }).refusals,
    resetRequests: () => void (tally = { total: 0, manager: 0, groups: 0 }),
    requests: () => ({ ...tally }),
    emulator: emu,
    control,
    async close() {
      await sources.closeAll();
      await api.close();
      await emu.close();
    },
  };
}
