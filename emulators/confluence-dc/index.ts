// Confluence Data Center emulator: the REST resources idsync writes users and groups through,
// the web forms it needs for profile fields, Confluence's error bodies and rate-limit headers,
// plus a control API (/_emulator/...) to seed and inspect users from another process.
import { Router, startEmulator, type RunningEmulator } from '../common/server.ts';
import { Sessions } from './auth.ts';
import { dcErrorBody, dcRateLimitHeaders } from './http-shapes.ts';
import { registerRest } from './rest.ts';
import { ConfluenceDcStore, type SeedUser } from './store.ts';
import { registerWeb } from './web.ts';

export { ConfluenceDcStore, PROFILE_FIELDS, type SeedUser, type ConfluenceDcUser, type ProfileField } from './store.ts';

export interface ConfluenceDcEmulatorOptions {
  tls?: boolean;
  port?: number;
  /** Licensed seats (active users); past it, creating or enabling a user answers 402. */
  licenseLimit?: number;
  /** Milliseconds a user removal task runs (default 25; 0 finishes at once). */
  deletionMs?: number;
  /** Secure administrator sessions (websudo) on, as by default in Confluence. */
  websudo?: boolean;
  /** Extra users/groups after the built-in administrator. */
  seed?: { users?: SeedUser[]; groups?: string[] };
}

export interface ConfluenceDcEmulator extends RunningEmulator {
  store: ConfluenceDcStore;
  /** The built-in administrator's credentials (password and personal access token). */
  admin: { username: string; password: string; token: string };
}

export const DEFAULT_ADMIN = { username: 'admin', password: 'admin-password', token: 'admin-pat-0000000000000000000000000000' };

function seedStore(store: ConfluenceDcStore, seed: ConfluenceDcEmulatorOptions['seed']): void {
  store.createGroup('confluence-administrators');
  store.createGroup('confluence-users');
  store.createUser({
    username: DEFAULT_ADMIN.username,
    fullName: 'Site Administrator',
    email: 'admin@example.com',
    password: DEFAULT_ADMIN.password,
    tokens: [DEFAULT_ADMIN.token],
    admin: true,
    groups: ['confluence-administrators', 'confluence-users'],
  });
  for (const g of seed?.groups ?? []) store.createGroup(g);
  for (const u of seed?.users ?? []) store.createUser(u);
}

export async function startConfluenceDcEmulator(opts: ConfluenceDcEmulatorOptions = {}): Promise<ConfluenceDcEmulator> {
  const store = new ConfluenceDcStore();
  const sessions = new Sessions();
  seedStore(store, opts.seed);

  const router = new Router();
  registerRest(router, store, sessions, { licenseLimit: opts.licenseLimit ?? Number.POSITIVE_INFINITY, deletionMs: opts.deletionMs ?? 25 });
  registerWeb(router, store, sessions, { websudo: opts.websudo ?? true, websudoMinutes: 10 });

  const control = new Router()
    .on('POST', '/users', (req) => {
      const users = (Array.isArray(req.body) ? req.body : [req.body]) as SeedUser[];
      const created = users.map((u) => store.createUser(u));
      return { status: 201, body: created.map((u) => ({ userKey: u.userKey, username: u.username })) };
    })
    .on('POST', '/groups', (req) => {
      for (const g of (req.body as { names?: string[] })?.names ?? []) store.createGroup(g);
      return { status: 204 };
    })
    .on('GET', '/users/:username', (req) => {
      const u = store.getByName(req.params.username!);
      if (!u) return { status: 404, body: { error: 'no such user' } };
      const { password: _pw, tokens: _t, ...visible } = u;
      return { status: 200, body: { ...visible, groups: store.groupsOf(u.userKey) } };
    });

  const emu = await startEmulator({
    name: 'confluence-dc',
    router,
    control,
    tls: opts.tls,
    port: opts.port,
    errorBody: dcErrorBody,
    rateLimitHeaders: dcRateLimitHeaders,
    onReset: () => {
      store.clear();
      sessions.clear();
      seedStore(store, opts.seed);
    },
  });
  return Object.assign(emu, { store, admin: { ...DEFAULT_ADMIN } });
}
