// Okta management API emulator (users, groups, user schema, OAuth 2.0 token endpoint) serving
// the seeded sample organisation, with Okta's auth (SSWS API tokens, service apps with
// private_key_jwt), error bodies, Link paging, per-endpoint rate limits and the shared faults.
// See README.md for what is emulated and how faithfully.
import { Router, startEmulator, type EmulatorRequest, type EmulatorResponse, type RunningEmulator } from '../common/server.ts';
import { generateOrg } from '../org/index.ts';
import type { Org } from '../org/types.ts';
import { getGroup, groupUsers, listGroups, listUsers, getUser, userGroups, userSchema } from './api.ts';
import { OktaAuth, requireScope, type ApiTokenRegistration, type OktaScope, type ServiceAppRegistration } from './auth.ts';
import { OktaDirectory, STATUSES, type OktaGroup, type OktaStatus } from './directory.ts';
import { E, oktaErrorForStatus } from './errors.ts';
import { OktaRateLimiter, type RateLimitSettings } from './rate-limit.ts';

export type { ApiTokenRegistration, OktaScope, ServiceAppRegistration } from './auth.ts';
export { OktaDirectory, oktaId, type OktaStatus, type OktaUser, type OktaGroup } from './directory.ts';

/** API tokens every emulator accepts unless `apiTokens` is given: a read-only admin's, and one of a user without an admin role. */
export const DEFAULT_OKTA_TOKENS = {
  readOnlyAdmin: '00emulatorReadOnlyAdminToken0000000000000',
  noAdminRole: '00emulatorTokenOfAUserWithoutAdminRole00',
} as const;

export interface OktaEmulatorOptions {
  org?: Org;
  users?: number;
  seed?: number;
  /** Default true (loopback TLS with the shared emulator certificate). */
  tls?: boolean;
  host?: string;
  port?: number;
  apiTokens?: ApiTokenRegistration[];
  apps?: ServiceAppRegistration[];
  rateLimit?: RateLimitSettings;
}

export interface OktaEmulator extends RunningEmulator {
  /** The org URL an admin configures (https://example.okta.com). */
  orgUrl: string;
  directory: OktaDirectory;
  auth: OktaAuth;
  rateLimiter: OktaRateLimiter;
}

export async function startOktaEmulator(opts: OktaEmulatorOptions = {}): Promise<OktaEmulator> {
  const directory = new OktaDirectory(opts.org ?? generateOrg({ users: opts.users ?? 300, seed: opts.seed ?? 1 }));
  const auth = new OktaAuth(
    opts.apiTokens ?? [
      { token: DEFAULT_OKTA_TOKENS.readOnlyAdmin, scopes: ['okta.users.read', 'okta.groups.read', 'okta.schemas.read'] },
      { token: DEFAULT_OKTA_TOKENS.noAdminRole, scopes: [] },
    ],
    opts.apps ?? [],
  );
  const rateLimiter = new OktaRateLimiter(opts.rateLimit);

  // Every API route: the rate-limit window first (Okta counts refused calls too), then the
  // credential, then the scope, then the handler; the rate-limit headers go on every answer.
  const api = (scope: OktaScope, handler: (req: EmulatorRequest) => EmulatorResponse) => (req: EmulatorRequest): EmulatorResponse => {
    const { allowed, headers } = rateLimiter.take(req.path);
    const answer = (() => {
      if (!allowed) return E.rateLimited();
      const grant = auth.authenticate(req);
      if ('status' in grant) return grant;
      return requireScope(grant, scope) ?? handler(req);
    })();
    return { ...answer, headers: { ...headers, 'x-okta-request-id': `emu${Math.random().toString(36).slice(2, 12)}`, ...answer.headers } };
  };

  const router = new Router()
    .on('GET', '/api/v1/users', api('okta.users.read', listUsers(directory)))
    .on('GET', '/api/v1/users/:id', api('okta.users.read', getUser(directory)))
    .on('GET', '/api/v1/users/:id/groups', api('okta.users.read', userGroups(directory)))
    .on('GET', '/api/v1/groups', api('okta.groups.read', listGroups(directory)))
    .on('GET', '/api/v1/groups/:id', api('okta.groups.read', getGroup(directory)))
    .on('GET', '/api/v1/groups/:id/users', api('okta.groups.read', groupUsers(directory)))
    .on('GET', '/api/v1/meta/schemas/user/default', api('okta.schemas.read', userSchema(directory)))
    .on('POST', '/oauth2/v1/token', (req) => auth.token(req));

  const notFound = { status: 404, body: { error: 'no such user' } };
  /** Control routes take the sample's ids or Okta's. */
  const userId = (ref: string) => directory.users.get(ref)?.id ?? directory.users.get(directory.idOf(ref))?.id ?? directory.find(ref)?.id;
  const control = new Router()
    .on('POST', '/org', (req) => {
      const b = (req.body ?? {}) as { users?: number; seed?: number; org?: Org };
      directory.replace(b.org ?? generateOrg({ users: b.users, seed: b.seed }));
      return { status: 200, body: directory.stats() };
    })
    .on('GET', '/directory', () => ({ status: 200, body: { ...directory.stats(), tokensIssued: auth.tokensIssued, rateLimited: rateLimiter.limited, rateLimit: rateLimiter.settings } }))
    .on('GET', '/users/:id', (req) => {
      const id = userId(req.params.id!);
      return id ? { status: 200, body: directory.users.get(id) } : notFound;
    })
    .on('PATCH', '/users/:id', (req) => {
      const id = userId(req.params.id!);
      const u = id && directory.updateProfile(id, (req.body ?? {}) as Record<string, unknown>);
      return u ? { status: 200, body: u } : notFound;
    })
    .on('POST', '/users/:id/status', (req) => {
      const status = ((req.body ?? {}) as { status?: OktaStatus }).status;
      if (!status || !STATUSES.includes(status)) return { status: 400, body: { error: `status must be one of ${STATUSES.join(', ')}` } };
      const id = userId(req.params.id!);
      const u = id && directory.setStatus(id, status);
      return u ? { status: 200, body: u } : notFound;
    })
    // As Okta's DELETE /api/v1/users/{id}: the first call deactivates, the second deletes.
    .on('DELETE', '/users/:id', (req) => {
      const id = userId(req.params.id!);
      const done = id && directory.delete(id);
      return done ? { status: 200, body: { result: done } } : notFound;
    })
    .on('PUT', '/users/:id/manager', (req) => {
      const id = userId(req.params.id!);
      const ref = ((req.body ?? {}) as { managerId?: string | null }).managerId ?? null;
      const managerId = ref === null ? null : (userId(ref) ?? '#unknown');
      return id && directory.setManager(id, managerId) ? { status: 204 } : { status: 404, body: { error: 'no such user or manager' } };
    })
    .on('POST', '/groups/:id/members', (req) => {
      const b = (req.body ?? {}) as { add?: string[]; remove?: string[] };
      const group = directory.groups.get(req.params.id!) ?? directory.groups.get(directory.sortedGroups().find((g) => g.profile.name === req.params.id)?.id ?? '');
      if (!group) return { status: 404, body: { error: 'no such group' } };
      for (const m of b.remove ?? []) directory.removeMember(group.id, userId(m) ?? m);
      for (const m of b.add ?? []) if (!directory.addMember(group.id, userId(m) ?? m)) return { status: 404, body: { error: `no such user: ${m}` } };
      return { status: 200, body: { id: group.id, members: group.members.length } };
    })
    .on('PATCH', '/groups/:id', (req) => {
      const b = (req.body ?? {}) as { name?: unknown; description?: unknown };
      if (b.name !== undefined && (typeof b.name !== 'string' || !b.name.trim())) return { status: 400, body: { error: 'name must be a non-empty string' } };
      const changes: Partial<OktaGroup['profile']> = {};
      if (typeof b.name === 'string') changes.name = b.name;
      if (typeof b.description === 'string' || b.description === null) changes.description = b.description;
      const g = directory.updateGroupProfile(req.params.id!, changes);
      return g ? { status: 200, body: g } : { status: 404, body: { error: 'no such group' } };
    })
    .on('DELETE', '/groups/:id', (req) => (directory.deleteGroup(req.params.id!) ? { status: 204 } : { status: 404, body: { error: 'no such group (or a built-in one)' } }))
    .on('POST', '/ratelimits', (req) => {
      const b = (req.body ?? {}) as Partial<RateLimitSettings>;
      if ((b.limit !== undefined && !(Number.isInteger(b.limit) && b.limit > 0)) || (b.windowSeconds !== undefined && !(b.windowSeconds > 0))) return { status: 400, body: { error: 'limit must be a positive integer and windowSeconds > 0' } };
      rateLimiter.configure(b);
      return { status: 200, body: rateLimiter.settings };
    })
    .on('POST', '/clock/freeze', (req) => {
      directory.frozen = ((req.body ?? {}) as { frozen?: boolean }).frozen !== false;
      return { status: 200, body: { frozen: directory.frozen } };
    })
    .on('POST', '/tokens/expire', () => ({ status: 200, body: { expired: auth.expireAll() } }));

  const initialRate = { ...rateLimiter.settings };
  const running = await startEmulator({
    name: 'okta',
    router,
    tls: opts.tls ?? true,
    host: opts.host,
    port: opts.port,
    errorBody: oktaErrorForStatus,
    exempt: (path) => path === '/oauth2/v1/token',
    onReset: () => {
      rateLimiter.configure(initialRate);
      rateLimiter.limited = 0;
      directory.frozen = false;
    },
    control,
  });
  return Object.assign(running, { orgUrl: running.url, directory, auth, rateLimiter });
}
