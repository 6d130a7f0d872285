// OneLogin API emulator: OAuth 2.0 client credentials at /auth/oauth2/v2/token (HTTP Basic
// client_id:client_secret, JSON body), the v2 users API with cursor paging (`limit`, `cursor`
// from the After-Cursor header), `updated_since` and attribute filters with `*` wildcards,
// roles (/api/2/roles) and groups (/api/1/groups), OneLogin's error bodies, and the account's
// hourly rate limit (X-RateLimit-Limit/Remaining/Reset, Reset in seconds; 429 once spent).
// What is verified and what is approximated: README.md and docs/protocol-facts.md (OneLogin).
import { randomBytes } from 'node:crypto';
import { Router, startEmulator, type EmulatorRequest, type EmulatorResponse, type RunningEmulator } from '../common/server.ts';
import { generateOrg } from '../org/index.ts';
import type { Org } from '../org/types.ts';
import { Account, type OlUser } from './account.ts';

export { Account, type OlUser } from './account.ts';

export interface OneLoginCredential {
  clientId: string;
  clientSecret: string;
  /** The credential's scope as the admin portal names it. */
  scope: 'Read users' | 'Manage users' | 'Read All' | 'Manage All' | 'Authentication Only';
}

export const DEFAULT_ONELOGIN_CREDENTIAL: OneLoginCredential = { clientId: 'idsync-read-users', clientSecret: 'emulator-onelogin-secret', scope: 'Read users' };
/** A credential that may only mint tokens (Test connection: missing permission). */
export const AUTH_ONLY_ONELOGIN_CREDENTIAL: OneLoginCredential = { clientId: 'idsync-auth-only', clientSecret: 'emulator-onelogin-secret-2', scope: 'Authentication Only' };

const READ_SCOPES = new Set(['Read users', 'Manage users', 'Read All', 'Manage All']);
const TOKEN_LIFETIME_S = 36_000; // 10 hours (api-docs/1 "Authorizing Resource API Calls")
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

export interface OneLoginEmulatorOptions {
  org?: Org;
  users?: number;
  tls?: boolean;
  credentials?: OneLoginCredential[];
  /** The account's hourly budget (OneLogin: 5,000 calls an hour, shared by every token). */
  rateLimit?: { limit: number; windowSeconds: number };
}

export interface OneLoginEmulator extends RunningEmulator {
  account: Account;
  tokensIssued: number;
  /** Calls answered 429 because the hour's budget was spent. */
  rateLimited429: number;
  setRateLimit(r: { limit: number; windowSeconds: number }): void;
  /** What is left of the current window (tests). */
  remaining(): number;
}

/** v1 bodies (token endpoint and /api/1): `{status: {error, code, type, message}}`. */
export function v1Error(code: number, type: string, message: string): EmulatorResponse {
  return { status: code, body: { status: { error: true, code, type, message } } };
}
/** v2 bodies: `{statusCode, name, message}` (the shape is unsettled: see docs/protocol-facts.md). */
export function v2Error(code: number, name: string, message: string): EmulatorResponse {
  return { status: code, body: { statusCode: code, name, message } };
}

interface Cursor {
  o: number;
  q: string;
}
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decodeCursor(raw: string): Cursor | undefined {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    return typeof c.o === 'number' && typeof c.q === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

const FILTERS = ['email', 'username', 'firstname', 'lastname', 'id'] as const;

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
}

export async function startOneLoginEmulator(opts: OneLoginEmulatorOptions = {}): Promise<OneLoginEmulator> {
  const account = new Account(opts.org ?? generateOrg({ users: opts.users ?? 300, seed: 1 }));
  const credentials = opts.credentials ?? [DEFAULT_ONELOGIN_CREDENTIAL, AUTH_ONLY_ONELOGIN_CREDENTIAL];
  const tokens = new Map<string, { scope: string; expiresAt: number }>();
  let limits = opts.rateLimit ?? { limit: 5000, windowSeconds: 3600 };
  let window = { start: Date.now(), used: 0 };
  const state = { tokensIssued: 0, rateLimited429: 0 };

  const current = () => {
    if (Date.now() - window.start >= limits.windowSeconds * 1000) window = { start: Date.now(), used: 0 };
    return window;
  };
  const rateHeaders = (): Record<string, string> => {
    const w = current();
    const reset = Math.max(0, Math.ceil((w.start + limits.windowSeconds * 1000 - Date.now()) / 1000));
    return { 'x-ratelimit-limit': String(limits.limit), 'x-ratelimit-remaining': String(Math.max(0, limits.limit - w.used)), 'x-ratelimit-reset': String(reset) };
  };

  const token = (req: EmulatorRequest): EmulatorResponse => {
    const basic = /^Basic (.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (!basic) return v1Error(401, 'Unauthorized', 'Authentication Failure');
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const [id, secret] = colon < 0 ? [decoded, ''] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
    const body = (req.body ?? {}) as { grant_type?: unknown };
    if (!String(req.headers['content-type'] ?? '').includes('application/json') || body.grant_type !== 'client_credentials') {
      return v1Error(400, 'bad request', 'grant_type is incorrect/absent');
    }
    const cred = credentials.find((c) => c.clientId === id);
    if (!cred || cred.clientSecret !== secret) return v1Error(401, 'Unauthorized', 'Authentication Failure');
    const access = randomBytes(24).toString('hex');
    tokens.set(access, { scope: cred.scope, expiresAt: Date.now() + TOKEN_LIFETIME_S * 1000 });
    state.tokensIssued++;
    return { status: 200, body: { access_token: access, created_at: new Date().toISOString(), expires_in: TOKEN_LIFETIME_S, refresh_token: '', token_type: 'bearer', account_id: 555555 } };
  };

  /** Bearer token, scope, then the hour's budget; every API call answered carries the rate headers. */
  const api =
    (handler: (req: EmulatorRequest) => EmulatorResponse, v: 1 | 2 = 2) =>
    (req: EmulatorRequest): EmulatorResponse => {
      const m = /^bearer[: ](.+)$/i.exec(String(req.headers.authorization ?? ''));
      const t = m ? tokens.get(m[1]!.trim()) : undefined;
      if (!t || t.expiresAt < Date.now()) return v === 1 ? v1Error(401, 'Unauthorized', 'Authentication Failure') : v2Error(401, 'Unauthorized', 'Authentication Failure');
      const w = current();
      if (w.used >= limits.limit) {
        state.rateLimited429++;
        const r = v2Error(429, 'TooManyRequests', 'Rate limit exceeded');
        return { ...r, headers: rateHeaders() };
      }
      w.used++;
      const answer = READ_SCOPES.has(t.scope) ? handler(req) : v === 1 ? v1Error(401, 'Unauthorized', 'Authentication Failure') : v2Error(403, 'Forbidden', 'Forbidden');
      return { ...answer, headers: { ...answer.headers, ...rateHeaders() } };
    };

  /** Cursor paging over any list: `limit`, and `cursor` from an earlier After-Cursor bound to the same query. */
  function page<T>(req: EmulatorRequest, all: T[], query: string, render: (x: T) => unknown): EmulatorResponse {
    const rawLimit = req.query.get('limit');
    if (rawLimit !== null && (!/^\d+$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_LIMIT)) {
      return v2Error(400, 'BadRequest', `limit must be an integer between 1 and ${MAX_LIMIT}`);
    }
    const limit = rawLimit === null ? DEFAULT_LIMIT : Number(rawLimit);
    let offset = 0;
    const raw = req.query.get('cursor');
    if (raw !== null) {
      const c = decodeCursor(raw);
      if (!c || c.q !== query) return v2Error(400, 'BadRequest', 'Invalid cursor');
      offset = c.o;
    }
    const slice = all.slice(offset, offset + limit);
    const headers: Record<string, string> = {
      'total-count': String(all.length),
      'page-items': String(slice.length),
      'current-page': String(Math.floor(offset / limit) + 1),
      'total-pages': String(Math.max(1, Math.ceil(all.length / limit))),
    };
    if (offset + limit < all.length) headers['after-cursor'] = encodeCursor({ o: offset + limit, q: query });
    if (offset > 0) headers['before-cursor'] = encodeCursor({ o: Math.max(0, offset - limit), q: query });
    return { status: 200, headers, body: slice.map(render) };
  }

  const listUsers = (req: EmulatorRequest): EmulatorResponse => {
    let users = [...account.users.values()];
    const parts: string[] = [];
    const since = req.query.get('updated_since');
    if (since !== null) {
      const t = Date.parse(since);
      if (Number.isNaN(t)) return v2Error(400, 'BadRequest', 'updated_since must be an ISO 8601 date');
      users = users.filter((u) => Date.parse(u.updated_at) >= t);
      parts.push(`u=${since}`);
    }
    for (const f of FILTERS) {
      const v = req.query.get(f);
      if (v === null) continue;
      const re = wildcard(v);
      users = users.filter((u) => re.test(String(u[f])));
      parts.push(`${f}=${v}`);
    }
    for (const [k, v] of req.query) {
      if (!k.startsWith('custom_attributes.')) continue;
      const re = wildcard(v);
      users = users.filter((u) => re.test(String(u.custom_attributes[k.slice('custom_attributes.'.length)] ?? '')));
      parts.push(`${k}=${v}`);
    }
    return page(req, users, parts.join('&'), (u: OlUser) => Account.json(u));
  };

  const getUser = (req: EmulatorRequest): EmulatorResponse => {
    if (!/^\d+$/.test(req.params.id!)) return v2Error(400, 'BadRequest', 'id must be an integer');
    const u = account.users.get(Number(req.params.id));
    return u ? { status: 200, body: Account.json(u) } : v2Error(404, 'NotFound', 'User not found');
  };

  const router = new Router()
    .on('POST', '/auth/oauth2/v2/token', token)
    .on('GET', '/api/2/users', api(listUsers))
    .on('GET', '/api/2/users/:id', api(getUser))
    .on('GET', '/api/2/roles', api((req) => page(req, [...account.roles.values()], 'roles', (r) => ({ id: r.id, name: r.name }))))
    .on(
      'GET',
      '/api/1/groups',
      api(() => ({ status: 200, body: { status: { error: false, code: 200, type: 'success', message: 'Success' }, pagination: { before_cursor: null, after_cursor: null, previous_link: null, next_link: null }, data: [...account.groups.values()].map((g) => ({ id: g.id, name: g.name, reference: null })) } }), 1),
    );

  const emu = await startEmulator({
    name: 'onelogin',
    router,
    tls: opts.tls ?? true,
    errorBody: (status, message) => ({ statusCode: status, name: status >= 500 ? 'InternalServerError' : 'Error', message }),
    exempt: (path) => path.startsWith('/auth/'),
  });

  // Getters, not copies: the counters move while the emulator runs.
  return Object.defineProperties(emu, {
    account: { value: account },
    tokensIssued: { get: () => state.tokensIssued },
    rateLimited429: { get: () => state.rateLimited429 },
    setRateLimit: {
      value: (r: { limit: number; windowSeconds: number }) => {
        limits = r;
        window = { start: Date.now(), used: 0 };
      },
    },
    remaining: { value: () => Math.max(0, limits.limit - current().used) },
  }) as OneLoginEmulator;
}
