// Jira Data Center emulator: `startJiraDcEmulator()` serves /rest/api/2 (users, groups,
// user properties) on an ephemeral loopback port, with Jira DC's rate-limit headers, the
// common faults, and control routes to seed and inspect (see control.ts).
//
// Default data: an administrator `admin` (password `admin`, PAT `admin-pat`), member of
// jira-administrators; a plain user `viewer` (password `viewer`, PAT `viewer-pat`).
import { startEmulator, type RunningEmulator } from '../common/server.ts';
import { JiraDcStore, type SeedUser } from './store.ts';
import { restRouter } from './rest.ts';
import { controlRouter, inspectUser, seed, type InspectedUser } from './control.ts';

export type { SeedUser, JiraDcUser } from './store.ts';
export type { InspectedUser } from './control.ts';
export { JiraDcStore } from './store.ts';

export interface JiraDcEmulatorOptions {
  tls?: boolean;
  /** Extra users (the built-in admin and viewer are always there). */
  users?: SeedUser[];
  groups?: string[];
  /** PAT → username, added to the built-in tokens. */
  patTokens?: Record<string, string>;
  /** username → password, added to the built-in ones. */
  basicUsers?: Record<string, string>;
  /** Refuse a second user with the same email (real Jira DC allows it; default false). */
  uniqueEmails?: boolean;
  /** Groups every created user joins, like Jira's application default groups. */
  defaultGroups?: string[];
}

export interface JiraDcEmulator extends RunningEmulator {
  /** Live state, for in-process tests; other processes use the /_emulator/ routes. */
  readonly store: JiraDcStore;
  /** A user as stored, with groups and properties; by key or username. */
  inspect(keyOrName: string): InspectedUser | undefined;
}

export const EMULATOR_ADMIN = { username: 'admin', password: 'admin', pat: 'admin-pat' };
export const EMULATOR_VIEWER = { username: 'viewer', password: 'viewer', pat: 'viewer-pat' };

export async function startJiraDcEmulator(options: JiraDcEmulatorOptions = {}): Promise<JiraDcEmulator> {
  const auth = {
    patTokens: new Map(Object.entries({ [EMULATOR_ADMIN.pat]: EMULATOR_ADMIN.username, [EMULATOR_VIEWER.pat]: EMULATOR_VIEWER.username, ...options.patTokens })),
    basicUsers: new Map(
      Object.entries({ [EMULATOR_ADMIN.username]: EMULATOR_ADMIN.password, [EMULATOR_VIEWER.username]: EMULATOR_VIEWER.password, ...options.basicUsers }),
    ),
  };

  const store = new JiraDcStore();
  const seedInitialState = () => {
    store.clear();
    seed(
      store,
      [
        { name: EMULATOR_ADMIN.username, displayName: 'Jira Administrator', emailAddress: 'admin@example.com', groups: ['jira-administrators'] },
        { name: EMULATOR_VIEWER.username, displayName: 'Read Only', emailAddress: 'viewer@example.com', groups: ['jira-software-users'] },
        ...(options.users ?? []),
      ],
      ['jira-administrators', 'jira-software-users', ...(options.groups ?? [])],
    );
  };
  seedInitialState();

  const rest = restRouter({
    store,
    auth,
    uniqueEmails: options.uniqueEmails ?? false,
    serverTitle: 'Jira (idsync emulator)',
    defaultGroups: options.defaultGroups ?? ['jira-software-users'],
  });

  const running = await startEmulator({
    name: 'jira-dc',
    router: rest,
    tls: options.tls ?? false,
    errorBody: (_status, message) => ({ errorMessages: [message], errors: {} }),
    // Jira DC's rate limiter (8.6+) is a token bucket per user and reports it in these headers.
    rateLimitHeaders: (retryAfter) => ({
      'X-RateLimit-Limit': '100',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Interval-Seconds': String(Math.max(1, retryAfter)),
      'X-RateLimit-FillRate': '10',
    }),
    exempt: (path) => path.endsWith('/serverInfo'),
    onReset: seedInitialState,
    control: controlRouter(() => store),
  });

  return Object.assign(running, {
    store,
    inspect(keyOrName: string) {
      const u = store.getByKey(keyOrName) ?? store.getByName(keyOrName);
      return u ? inspectUser(store, u) : undefined;
    },
  });
}
