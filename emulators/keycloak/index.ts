// Keycloak admin REST API emulator (a realm's users and groups, and the OpenID Connect token
// endpoint for the client-credentials grant), serving the seeded sample organisation. Callers
// authenticate as a confidential client whose service account holds realm-management roles;
// the admin API needs `view-users` (users, their groups, group members) and answers 403
// without it. See README.md for what is emulated.
import { randomBytes } from 'node:crypto';
import { Router, startEmulator, type EmulatorRequest, type EmulatorResponse, type RunningEmulator } from '../common/server.ts';
import { generateOrg } from '../org/index.ts';
import type { Org } from '../org/types.ts';
import { Realm, type KcGroup, type KcUser } from './realm.ts';

export { Realm, LDAP_PROVIDER_ID, type KcUser, type KcGroup } from './realm.ts';

export interface KeycloakClientRegistration {
  clientId: string;
  secret: string;
  /** realm-management roles of the client's service account. */
  roles: string[];
}

export const DEFAULT_KEYCLOAK_CLIENT: KeycloakClientRegistration = { clientId: 'idsync', secret: 'emulator-keycloak-secret', roles: ['view-users'] };
/** A client whose service account has no realm-management role (Test connection: missing permission). */
export const NO_ROLE_KEYCLOAK_CLIENT: KeycloakClientRegistration = { clientId: 'idsync-no-role', secret: 'emulator-keycloak-secret-2', roles: [] };

export interface KeycloakEmulatorOptions {
  org?: Org;
  users?: number;
  seed?: number;
  realm?: string;
  tls?: boolean;
  clients?: KeycloakClientRegistration[];
  host?: string;
  port?: number;
}

export interface KeycloakEmulator extends RunningEmulator {
  realmName: string;
  realm: Realm;
  tokensIssued: number;
}

const TOKEN_LIFETIME_S = 300;

function userJson(u: KcUser, brief: boolean): Record<string, unknown> {
  const { attributes, ...rest } = u;
  return { ...rest, totp: false, disableableCredentialTypes: [], requiredActions: [], notBefore: 0, ...(brief ? {} : { attributes: structuredClone(attributes) }), access: { manage: false } };
}

function intParam(req: EmulatorRequest, name: string, fallback: number): number | EmulatorResponse {
  const raw = req.query.get(name);
  if (raw === null) return fallback;
  if (!/^-?\d+$/.test(raw)) return { status: 400, body: { error: 'invalid_request', error_description: `Invalid value for ${name}` } };
  return Math.max(0, Number(raw));
}

export async function startKeycloakEmulator(opts: KeycloakEmulatorOptions = {}): Promise<KeycloakEmulator> {
  const realmName = opts.realm ?? 'contoso';
  const realm = new Realm(opts.org ?? generateOrg({ users: opts.users ?? 300, seed: opts.seed ?? 1 }));
  const clients = opts.clients ?? [DEFAULT_KEYCLOAK_CLIENT, NO_ROLE_KEYCLOAK_CLIENT];
  const tokens = new Map<string, { roles: Set<string>; expiresAt: number }>();
  const state = { tokensIssued: 0 };

  const token = (req: EmulatorRequest): EmulatorResponse => {
    if (req.params.realm !== realmName) return { status: 404, body: { error: 'Realm does not exist' } };
    const form = (req.body ?? {}) as Record<string, string>;
    let clientId = form.client_id;
    let secret = form.client_secret;
    const basic = /^Basic (.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) [clientId, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').map(decodeURIComponent) as [string, string];
    if (form.grant_type !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Unsupported grant_type' } };
    const client = clients.find((c) => c.clientId === clientId);
    if (!client) return { status: 401, body: { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' } };
    if (client.secret !== secret) return { status: 401, body: { error: 'unauthorized_client', error_description: 'Invalid client or Invalid client credentials' } };
    const access = randomBytes(24).toString('base64url');
    tokens.set(access, { roles: new Set(client.roles), expiresAt: Date.now() + TOKEN_LIFETIME_S * 1000 });
    state.tokensIssued++;
    return { status: 200, body: { access_token: access, expires_in: TOKEN_LIFETIME_S, refresh_expires_in: 0, token_type: 'Bearer', 'not-before-policy': 0, scope: 'profile email' } };
  };

  // Admin API: bearer token, the realm, then the role.
  const admin = (handler: (req: EmulatorRequest) => EmulatorResponse) => (req: EmulatorRequest): EmulatorResponse => {
    const m = /^Bearer (.+)$/i.exec(String(req.headers.authorization ?? ''));
    const t = m ? tokens.get(m[1]!) : undefined;
    if (!t || t.expiresAt < Date.now()) return { status: 401, body: { error: 'HTTP 401 Unauthorized' } };
    if (req.params.realm !== realmName) return { status: 404, body: { error: 'Realm not found.' } };
    if (!t.roles.has('view-users') && !t.roles.has('manage-users')) return { status: 403, body: { error: 'HTTP 403 Forbidden' } };
    return handler(req);
  };

  const matchesSearch = (u: KcUser, search: string): boolean => {
    // Keycloak: prefix match by default ("foo" or "foo*"), "*foo*" infix, "\"foo\"" exact; on username, email, first and last name.
    const fields = [u.username, u.email, u.firstName, u.lastName].filter((x): x is string => !!x).map((x) => x.toLowerCase());
    const s = search.toLowerCase();
    if (s.startsWith('"') && s.endsWith('"') && s.length > 1) return fields.includes(s.slice(1, -1));
    if (s.startsWith('*') && s.endsWith('*') && s.length > 1) return fields.some((f) => f.includes(s.slice(1, -1)));
    const prefix = s.endsWith('*') ? s.slice(0, -1) : s;
    return fields.some((f) => f.startsWith(prefix));
  };

  const filtered = (req: EmulatorRequest): KcUser[] | EmulatorResponse => {
    let users = realm.sortedUsers();
    const search = req.query.get('search');
    const exact = req.query.get('exact') === 'true';
    if (search !== null && search !== '') users = users.filter((u) => matchesSearch(u, search));
    for (const f of ['username', 'email', 'firstName', 'lastName'] as const) {
      const v = req.query.get(f);
      if (v === null) continue;
      users = users.filter((u) => (exact ? (u[f] ?? '').toLowerCase() === v.toLowerCase() : (u[f] ?? '').toLowerCase().includes(v.toLowerCase())));
    }
    const enabled = req.query.get('enabled');
    if (enabled !== null) users = users.filter((u) => String(u.enabled) === enabled);
    const q = req.query.get('q');
    if (q !== null) {
      // q=key:value key2:value2 (custom attributes, exact values)
      const pairs = q.split(' ').filter(Boolean).map((p) => p.split(':') as [string, string]);
      if (pairs.some((p) => p.length !== 2)) return { status: 400, body: { error: 'invalid_request', error_description: 'q must be key:value pairs' } };
      users = users.filter((u) => pairs.every(([k, v]) => (u.attributes[k] ?? []).includes(v)));
    }
    return users;
  };

  // Keycloak 23+: a group's `subGroups` are filled only where the docs say so (a search of
  // /groups); elsewhere they are [] beside `subGroupCount`, and /groups/{id}/children pages them.
  // The brief representation leaves out attributes and roles.
  const groupJson = (g: KcGroup, withSubGroups: boolean, brief: boolean): Record<string, unknown> => ({
    id: g.id,
    name: g.name,
    path: realm.path(g),
    ...(g.parentId ? { parentId: g.parentId } : {}),
    subGroupCount: realm.children(g.id).length,
    subGroups: withSubGroups ? realm.children(g.id).map((c) => groupJson(c, true, brief)) : [],
    ...(brief ? {} : { attributes: structuredClone(g.attributes), realmRoles: [], clientRoles: {} }),
    access: { view: true, viewMembers: true, manageMembers: false, manage: false, manageMembership: false },
  });
  const boolParam = (req: EmulatorRequest, name: string, fallback: boolean): boolean => {
    const raw = req.query.get(name);
    return raw === null ? fallback : raw === 'true';
  };

  const page = <T>(req: EmulatorRequest, all: T[], defaultMax: number): T[] | EmulatorResponse => {
    const first = intParam(req, 'first', 0);
    const max = intParam(req, 'max', defaultMax);
    if (typeof first !== 'number') return first;
    if (typeof max !== 'number') return max;
    return all.slice(first, first + max);
  };
  const list = <T>(r: T[] | EmulatorResponse, render: (t: T) => unknown): EmulatorResponse => (Array.isArray(r) ? { status: 200, body: r.map(render) } : r);
  const userNotFound: EmulatorResponse = { status: 404, body: { error: 'User not found' } };
  const groupNotFound: EmulatorResponse = { status: 404, body: { error: 'Could not find group by id' } };

  const router = new Router()
    .on('POST', '/realms/:realm/protocol/openid-connect/token', token)
    .on('GET', '/admin/realms/:realm/users/count', admin((req) => {
      const users = filtered(req);
      return Array.isArray(users) ? { status: 200, body: users.length } : users;
    }))
    .on('GET', '/admin/realms/:realm/users', admin((req) => {
      const users = filtered(req);
      if (!Array.isArray(users)) return users;
      const brief = req.query.get('briefRepresentation') === 'true';
      return list(page(req, users, 100), (u) => userJson(u, brief));
    }))
    .on('GET', '/admin/realms/:realm/users/:id', admin((req) => {
      const u = realm.users.get(req.params.id!);
      return u ? { status: 200, body: userJson(u, false) } : userNotFound;
    }))
    .on('GET', '/admin/realms/:realm/users/:id/groups', admin((req) => {
      if (!realm.users.has(req.params.id!)) return userNotFound;
      return list(page(req, realm.groupsOf(req.params.id!), 100), (g) => groupJson(g, false, boolParam(req, 'briefRepresentation', true)));
    }))
    .on('GET', '/admin/realms/:realm/groups/count', admin((req) => {
      const search = req.query.get('search');
      const top = boolParam(req, 'top', false);
      let all = [...realm.groups.values()];
      if (search !== null) all = all.filter((g) => g.name.toLowerCase().includes(search.toLowerCase()));
      else if (top) all = all.filter((g) => !g.parentId);
      return { status: 200, body: { count: all.length } };
    }))
    .on('GET', '/admin/realms/:realm/groups', admin((req) => {
      const search = req.query.get('search');
      const brief = boolParam(req, 'briefRepresentation', true);
      let top = realm.children(null);
      // A search returns the top-level groups with a match in their tree, the tree filled in.
      if (search) {
        const s = search.toLowerCase();
        top = top.filter((g) => [...realm.groups.values()].some((x) => x.name.toLowerCase().includes(s) && (x.id === g.id || realm.path(x).startsWith(`${realm.path(g)}/`))));
      }
      return list(page(req, top, 100), (g) => groupJson(g, !!search, brief));
    }))
    .on('GET', '/admin/realms/:realm/groups/:id', admin((req) => {
      const g = realm.groups.get(req.params.id!);
      return g ? { status: 200, body: groupJson(g, false, false) } : groupNotFound;
    }))
    .on('GET', '/admin/realms/:realm/groups/:id/children', admin((req) => {
      const g = realm.groups.get(req.params.id!);
      return g ? list(page(req, realm.children(g.id), 10), (c) => groupJson(c, false, boolParam(req, 'briefRepresentation', false))) : groupNotFound;
    }))
    .on('GET', '/admin/realms/:realm/groups/:id/members', admin((req) => {
      const g = realm.groups.get(req.params.id!);
      if (!g) return groupNotFound;
      // Direct members only (not those of sub-groups), ordered by username, 100 a page by default.
      const members = g.members.map((id) => realm.users.get(id)).filter((u): u is KcUser => !!u).sort((a, b) => (a.username < b.username ? -1 : 1));
      return list(page(req, members, 100), (u) => userJson(u, boolParam(req, 'briefRepresentation', false)));
    }));

  const notFound = { status: 404, body: { error: 'no such user' } };
  const control = new Router()
    .on('POST', '/org', (req) => {
      const b = (req.body ?? {}) as { users?: number; seed?: number; org?: Org };
      realm.replace(b.org ?? generateOrg({ users: b.users, seed: b.seed }));
      return { status: 200, body: realm.stats() };
    })
    .on('GET', '/directory', () => ({ status: 200, body: { ...realm.stats(), tokensIssued: state.tokensIssued } }))
    .on('PATCH', '/users/:id', (req) => {
      const u = realm.users.get(req.params.id!);
      if (!u) return notFound;
      const b = (req.body ?? {}) as Partial<KcUser> & { attributes?: Record<string, string[] | null> };
      for (const k of ['username', 'email', 'firstName', 'lastName', 'enabled'] as const) if (k in b) (u as unknown as Record<string, unknown>)[k] = b[k];
      for (const [k, v] of Object.entries(b.attributes ?? {})) {
        if (v === null || v.length === 0) delete u.attributes[k];
        else u.attributes[k] = v;
      }
      return { status: 200, body: u };
    })
    .on('DELETE', '/users/:id', (req) => {
      if (!realm.users.delete(req.params.id!)) return notFound;
      for (const g of realm.groups.values()) g.members = g.members.filter((m) => m !== req.params.id);
      return { status: 204 };
    })
    .on('POST', '/groups/:id/members', (req) => {
      const g = realm.groups.get(req.params.id!);
      if (!g) return { status: 404, body: { error: 'no such group' } };
      const b = (req.body ?? {}) as { add?: string[]; remove?: string[] };
      g.members = g.members.filter((m) => !(b.remove ?? []).includes(m));
      for (const m of b.add ?? []) if (realm.users.has(m) && !g.members.includes(m)) g.members.push(m);
      return { status: 200, body: { members: g.members.length } };
    })
    .on('POST', '/tokens/expire', () => {
      const n = tokens.size;
      tokens.clear();
      return { status: 200, body: { expired: n } };
    });

  const running = await startEmulator({
    name: 'keycloak',
    router,
    tls: opts.tls ?? true,
    host: opts.host,
    port: opts.port,
    errorBody: (status, message) => ({ error: status === 404 ? 'HTTP 404 Not Found' : status >= 500 ? 'unknown_error' : message }),
    exempt: (path) => path.endsWith('/protocol/openid-connect/token'),
    control,
  });
  const emulator = Object.assign(running, { realmName, realm, tokensIssued: 0 });
  Object.defineProperty(emulator, 'tokensIssued', { get: () => state.tokensIssued });
  return emulator;
}
