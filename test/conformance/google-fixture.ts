// The source conformance fixture for Google Workspace: the Google source against the Google
// emulator (in-process, TLS), driven through its control API as a test in another process would.
import { Agent, fetch } from 'undici';
import { GoogleDirectory, startGoogleEmulator, type GoogleEmulator } from '../../emulators/google/index.ts';
import type { ScriptedFault } from '../../emulators/common/server.ts';
import type { Org } from '../../emulators/org/types.ts';
import type { RecordedRequest } from '../../src/core/http.ts';
import { emulatedGoogleSources } from '../../src/sources/google/testing.ts';
import { sampleOrg } from './sample-org.ts';
import type { ExpectedDirectory, FaultSpec, RequestTally, SourceFixture, SourceSetup } from './source-suite.ts';

const KEY_ENV = 'IDSYNC_TEST_GOOGLE_CONFORMANCE_KEY';
const PERSISTENT = 100_000;
/** The connector query of `filtered: true`: Google's own syntax, passed as written. */
export const GOOGLE_FILTER = 'isSuspended=false';

/** First page: users.list without a pageToken; later pages carry one; `all`: every Directory API call. */
const WHERE: Record<FaultSpec['where'], Pick<ScriptedFault, 'path' | 'pattern'>> = {
  'first-page': { pattern: '^/admin/directory/v1/users\\?(?!.*pageToken)' },
  'later-pages': { pattern: '^/admin/directory/v1/users\\?.*pageToken' },
  all: { pattern: '^/admin/directory/v1/' },
};

/** What Google answers for a listing with nothing (more) in it: no `users`, no `nextPageToken`. */
const EMPTY_PAGE = { kind: 'admin#directory#users', etag: '"emptied-by-fault"' };

function scripted(spec: FaultSpec): ScriptedFault {
  const times = spec.times === 'always' ? PERSISTENT : spec.times;
  const where = { ...WHERE[spec.where], skip: spec.after };
  switch (spec.kind) {
    case 'server-error':
      return { ...where, status: 500, times };
    case 'drop':
      return { ...where, drop: true, times };
    case 'empty-page':
      return { ...where, status: 200, body: EMPTY_PAGE, times };
    case 'short-page':
      return { ...where, answer: spec.where === 'first-page' ? 'truncated' : 'cut', times };
  }
}

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
  const agent = new Agent({ connect: { ca: emu.ca } });
  const sources = emulatedGoogleSources(() => emu, KEY_ENV);
  let tally: RequestTally = { total: 0, manager: 0, groups: 0 };

  const control = async (path: string, method = 'POST', body?: unknown): Promise<unknown> => {
    const res = await fetch(`${emu.url}/_emulator${path}`, { method, dispatcher: agent, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`emulator ${method} ${path} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  /** Directory API requests; the manager is read when a user request asks for `relations`; groups by the group routes. */
  const record = (r: RecordedRequest) => {
    const url = decodeURIComponent(r.url);
    if (!url.includes('/admin/directory/v1/')) return;
    tally.total++;
    if (/\/users(\/|\?)/.test(url) && /[(,]relations[,)&]|fields=[^&]*relations/.test(url)) tally.manager++;
    if (/\/groups(\/|\?)/.test(url)) tally.groups++;
  };

  const clearFaults = async () => {
    await control('/faults', 'POST', { errorRate: 0, dropRate: 0, script: [] });
    await control('/quota', 'POST', { off: true });
  };

  return {
    source(setup: SourceSetup = {}) {
      const overrides: Record<string, unknown> = {};
      if (setup.filtered) overrides.query = GOOGLE_FILTER;
      if (setup.requiredGroups) overrides.requiredGroups = setup.requiredGroups;
      if (setup.pageSize) overrides.pageSize = setup.pageSize;
      return sources.source(overrides, record);
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
    async fault(spec) {
      const current = (await control('/faults', 'GET')) as { script: ScriptedFault[] };
      await control('/faults', 'POST', { script: [...current.script, scripted(spec)] });
    },
    async storm() {
      // 5xx on 30% of the calls, and Google's per-user quota answers (403 userRateLimitExceeded).
      await control('/faults', 'POST', { errorRate: 0.3, errorStatus: 503, seed: 11 });
      await control('/quota', 'POST', { capacity: 4, perSecond: 200, answer: 'userRateLimitExceeded' });
    },
    clearFaults,
    faultsInjected: async () => ((await control('/stats', 'GET')) as { faultsInjected: number }).faultsInjected + ((await control('/quota', 'GET')) as { refusals: number }).refusals,
    resetRequests: () => void (tally = { total: 0, manager: 0, groups: 0 }),
    requests: () => ({ ...tally }),
    emulator: emu,
    control,
    async close() {
      await sources.closeAll();
      await agent.close();
      await emu.close();
    },
  };
}
