// Emulator of the Atlassian Cloud admin APIs on api.atlassian.com that idsync uses with an
// organisation API key (Bearer):
//   organisation API   GET  /admin/v1/orgs, GET /admin/v1/orgs/{orgId}/users (managed accounts,
//                      `links.next` is a full URL), POST /admin/v2/orgs/{orgId}/directories/{dir}/users/search
//                      (`emails` exact match, `links.next` is a cursor token; `-` means all directories)
//   user management    GET /users/{id}/manage (privileges), GET/PATCH /users/{id}/manage/profile,
//                      PUT /users/{id}/manage/email, POST /users/{id}/manage/lifecycle/disable|enable
// Only managed accounts can be changed: an unmanaged one answers 403 `{"key":"forbidden"}`,
// an unknown id 404.
import { Router, startEmulator, type EmulatorRequest, type EmulatorResponse, type RunningEmulator } from '../common/server.ts';
import { AdminStore, defaultAdminSeed, type AdminAccount, type AdminSeed, type SeedAdminAccount } from './store.ts';

export { AdminStore, defaultAdminSeed, accountIdFor } from './store.ts';
export type { AdminAccount, AdminSeed, SeedAdminAccount } from './store.ts';

export interface AtlassianAdminEmulatorOptions {
  tls?: boolean;
  port?: number;
  seed?: AdminSeed;
  apiKey?: string;
  /** Page size of both user listings (small values exercise cursor paging). */
  pageSize?: number;
}

export interface AtlassianAdminEmulator extends RunningEmulator {
  store: AdminStore;
  apiKey: string;
  orgId: string;
}

const PROFILE_FIELDS = ['name', 'nickname', 'zoneinfo', 'locale'] as const;
const EXTENDED_FIELDS = ['job_title', 'organization', 'department', 'location'] as const;

const forbidden = (): EmulatorResponse => ({ status: 403, body: { key: 'forbidden' } });
const notFound = (what: string): EmulatorResponse => ({ status: 404, body: { key: 'notFound', message: `${what} was not found` } });
const orgError = (status: number, title: string, detail: string): EmulatorResponse => ({
  status,
  body: { errors: [{ status: String(status), code: title.toUpperCase().replace(/\W+/g, '-'), title, detail }] },
});

/** Why the organisation may not delete this account, as GET /users/{id}/manage reports it. */
const deleteRestriction = (a: AdminAccount): { allowed: false; reason: { key: string } } | undefined =>
  a.scim ? { allowed: false, reason: { key: 'externalDirectory.scim' } } : undefined;

const encodeCursor = (offset: number) => Buffer.from(`offset:${offset}`).toString('base64url');
const decodeCursor = (cursor: string | null | undefined): number | undefined => {
  if (!cursor) return 0;
  const m = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
};

export async function startAtlassianAdminEmulator(opts: AtlassianAdminEmulatorOptions = {}): Promise<AtlassianAdminEmulator> {
  const apiKey = opts.apiKey ?? 'org-admin-api-key';
  const seed = opts.seed ?? defaultAdminSeed();
  const pageSize = opts.pageSize ?? 100;
  let store = new AdminStore(seed);

  const authed =
    (h: (req: EmulatorRequest) => EmulatorResponse) =>
    (req: EmulatorRequest): EmulatorResponse =>
      String(req.headers.authorization ?? '') === `Bearer ${apiKey}` ? h(req) : { status: 401, body: { code: 401, message: 'Unauthorized' } };
  const inOrg = (h: (req: EmulatorRequest) => EmulatorResponse) =>
    authed((req) => (req.params.orgId === store.orgId ? h(req) : orgError(404, 'Not Found', `Organization ${req.params.orgId} not found for this API key`)));
  /** Resolves the path's account; unmanaged accounts are forbidden, unknown ones not found. */
  const managed = (h: (req: EmulatorRequest, a: AdminAccount) => EmulatorResponse) =>
    authed((req) => {
      const a = store.accounts.get(req.params.id!);
      if (!a) return notFound(`Account ${req.params.id}`);
      if (!a.managed) return forbidden();
      return h(req, a);
    });

  const profileJson = (req: EmulatorRequest, a: AdminAccount) => ({
    account: {
      account_id: a.account_id,
      account_type: a.account_type,
      account_status: a.account_status,
      name: a.name,
      picture: `${req.origin}/avatars/${a.account_id}`,
      email: a.email,
      characteristics: {},
      nickname: a.nickname,
      zoneinfo: a.zoneinfo,
      locale: a.locale,
      extended_profile: a.extended_profile,
    },
  });
  const v1User = (req: EmulatorRequest, a: AdminAccount) => ({
    account_id: a.account_id,
    account_type: a.account_type,
    account_status: a.account_status,
    name: a.name,
    picture: `${req.origin}/avatars/${a.account_id}`,
    email: a.email,
    access_billable: a.account_status === 'active',
    product_access: [],
    links: { self: `${req.origin}/users/${a.account_id}/manage/profile` },
  });
  const v2User = (a: AdminAccount) => ({
    accountId: a.account_id,
    accountType: a.account_type,
    accountStatus: a.account_status,
    status: a.account_status === 'active' ? 'active' : 'suspended',
    membershipStatus: 'active',
    name: a.name,
    nickname: a.nickname,
    email: a.email,
    emailVerified: true,
    claimStatus: a.managed ? 'managed' : 'unmanaged',
    jobTitle: a.extended_profile.job_title,
    department: a.extended_profile.department ?? null,
    organization: a.extended_profile.organization ?? null,
    location: a.extended_profile.location ?? null,
    timeZone: a.zoneinfo,
  });

  const router = new Router()
    .on('GET', '/admin/v1/orgs', authed((req) => ({
      status: 200,
      body: {
        data: [
          {
            id: store.orgId,
            type: 'orgs',
            attributes: { name: store.orgName },
            relationships: { users: { links: { related: `${req.origin}/admin/v1/orgs/${store.orgId}/users` } } },
            links: { self: `${req.origin}/admin/v1/orgs/${store.orgId}` },
          },
        ],
        links: { self: `${req.origin}/admin/v1/orgs` },
      },
    })))
    .on('GET', '/admin/v1/orgs/:orgId/users', inOrg((req) => {
      const offset = decodeCursor(req.query.get('cursor'));
      if (offset === undefined) return orgError(400, 'Bad Request', 'The cursor is not valid');
      // A deleted account is removed "from all lists under Directory" at once (grace period or not).
      const all = store.ordered().filter((a) => a.managed && !a.deletedAt);
      const next = offset + pageSize < all.length ? `${req.origin}/admin/v1/orgs/${store.orgId}/users?cursor=${encodeCursor(offset + pageSize)}` : undefined;
      return {
        status: 200,
        body: {
          data: all.slice(offset, offset + pageSize).map((a) => v1User(req, a)),
          links: { self: `${req.origin}${req.rawUrl}`, ...(next ? { next } : {}) },
          meta: { total: all.length },
        },
      };
    }))
    .on('POST', '/admin/v2/orgs/:orgId/directories/:directoryId/users/search', inOrg((req) => {
      const body = (req.body ?? {}) as { emails?: unknown; searchTerm?: unknown; cursor?: unknown; limit?: unknown; accountIds?: unknown };
      if (body.emails !== undefined && body.searchTerm !== undefined) {
        return orgError(400, 'Bad Request', 'searchTerm and emails cannot be used together');
      }
      const limit = Math.min(100, Math.max(1, Number(body.limit ?? pageSize) || pageSize));
      const offset = decodeCursor(typeof body.cursor === 'string' ? body.cursor : undefined);
      if (offset === undefined) return orgError(400, 'Bad Request', 'The cursor is not valid');
      const emails = Array.isArray(body.emails) ? body.emails.map((e) => String(e).toLowerCase()) : undefined;
      const ids = Array.isArray(body.accountIds) ? body.accountIds.map(String) : undefined;
      const term = typeof body.searchTerm === 'string' ? body.searchTerm.toLowerCase() : undefined;
      const matches = store
        .ordered()
        .filter((a) => !a.deletedAt)
        .filter((a) => !emails || emails.includes(a.email.toLowerCase()))
        .filter((a) => !ids || ids.includes(a.account_id))
        .filter((a) => !term || a.name.toLowerCase().includes(term) || a.email.toLowerCase().includes(term));
      const next = offset + limit < matches.length ? encodeCursor(offset + limit) : undefined;
      return {
        status: 200,
        body: { data: matches.slice(offset, offset + limit).map(v2User), links: { self: encodeCursor(offset), ...(next ? { next } : {}) } },
      };
    }))
    .on('GET', '/users/:id/manage', managed((_req, a) => {
      const allowed = { allowed: true };
      const fields = Object.fromEntries([...PROFILE_FIELDS, ...EXTENDED_FIELDS.map((f) => `extended_profile.${f}`)].map((f) => [f, allowed]));
      return {
        status: 200,
        body: {
          profile: fields,
          'profile.write': fields,
          'profile.read': allowed,
          'email.set': allowed,
          'lifecycle.enablement': a.account_status === 'closed' ? { allowed: false, reason: { key: 'administrative' } } : allowed,
          'lifecycle.delete': deleteRestriction(a) ?? allowed,
        },
      };
    }))
    .on('GET', '/users/:id/manage/profile', managed((req, a) => ({ status: 200, body: profileJson(req, a) })))
    .on('PATCH', '/users/:id/manage/profile', managed((req, a) => {
      const body = req.body;
      if (!body || typeof body !== 'object' || Array.isArray(body)) return { status: 400, body: { key: 'bodyParseFailure' } };
      const violations: Array<{ field: string; violations: Array<{ key: string }> }> = [];
      const update = body as Record<string, unknown>;
      for (const [k, v] of Object.entries(update)) {
        if (k === 'extended_profile') {
          if (v === null || typeof v !== 'object') violations.push({ field: k, violations: [{ key: 'type' }] });
          else
            for (const [ek, ev] of Object.entries(v as Record<string, unknown>)) {
              if (!(EXTENDED_FIELDS as readonly string[]).includes(ek)) violations.push({ field: `extended_profile.${ek}`, violations: [{ key: 'immutable' }] });
              else if (ev !== null && (typeof ev !== 'string' || ev.length > 255)) violations.push({ field: `extended_profile.${ek}`, violations: [{ key: 'length' }] });
            }
        } else if (!(PROFILE_FIELDS as readonly string[]).includes(k)) {
          violations.push({ field: k, violations: [{ key: 'immutable' }] });
        } else if (k === 'name' && (typeof v !== 'string' || !v.trim())) {
          violations.push({ field: k, violations: [{ key: 'required' }] });
        } else if (v !== null && (typeof v !== 'string' || v.length > 255)) {
          violations.push({ field: k, violations: [{ key: 'length' }] });
        }
      }
      if (violations.length) return { status: 400, body: { key: 'fieldConstraintsViolated', context: { fieldViolations: violations } } };
      for (const f of PROFILE_FIELDS) {
        if (!(f in update)) continue;
        const v = update[f] as string | null;
        if (f === 'name') a.name = v!;
        else if (f === 'nickname') a.nickname = v ?? a.name.split(/\s+/)[0]!;
        else a[f] = v;
      }
      for (const [ek, ev] of Object.entries((update.extended_profile ?? {}) as Record<string, string | null>)) {
        const key = ek as (typeof EXTENDED_FIELDS)[number];
        if (ev === null) delete a.extended_profile[key];
        else a.extended_profile[key] = ev;
      }
      return { status: 200, body: profileJson(req, a) };
    }))
    .on('PUT', '/users/:id/manage/email', managed((req, a) => {
      const email = (req.body as { email?: unknown } | undefined)?.email;
      if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email)) {
        return { status: 400, body: { key: 'fieldConstraintsViolated', context: { fieldViolations: [{ field: 'email', violations: [{ key: 'format' }] }] } } };
      }
      const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
      if (!store.verifiedDomains().has(domain)) return { status: 403, body: { key: 'forbidden.unclaimedDomain', context: { domain } } };
      const other = store.byEmail(email);
      if (other && other !== a) return { status: 409, body: { key: 'conflict', message: 'Another account already uses this email' } };
      a.email = email;
      return { status: 204 };
    }))
    .on('POST', '/users/:id/manage/lifecycle/disable', managed((req, a) => {
      if (a.account_status === 'closed') return { status: 400, body: [{ code: 'closed', message: 'The account is closed' }] };
      const message = (req.body as { message?: unknown } | undefined)?.message;
      a.account_status = 'inactive';
      a.deactivationMessage = typeof message === 'string' ? message : 'Your account has been deactivated by your organisation administrator.';
      return { status: 204 };
    }))
    .on('POST', '/users/:id/manage/lifecycle/delete', managed((_req, a) => {
      const restriction = deleteRestriction(a);
      if (restriction) return { status: 403, body: [{ code: 'forbidden', message: `The account cannot be deleted (${(restriction.reason as { key: string }).key})` }] };
      if (a.deletedAt) return { status: 400, body: [{ code: 'closed', message: 'The account is already scheduled for deletion' }] };
      // The account is deactivated at once and deleted for good after a 14-day grace period.
      a.account_status = 'closed';
      a.deletedAt = new Date().toISOString();
      return { status: 204 };
    }))
    .on('POST', '/users/:id/manage/lifecycle/cancel-delete', managed((_req, a) => {
      if (!a.deletedAt) return { status: 400, body: [{ code: 'notScheduled', message: 'The account is not scheduled for deletion' }] };
      delete a.deletedAt;
      a.account_status = 'active';
      return { status: 204 };
    }))
    .on('POST', '/users/:id/manage/lifecycle/enable', managed((_req, a) => {
      if (a.account_status === 'closed') return { status: 400, body: [{ code: 'closed', message: 'The account is closed' }] };
      a.account_status = 'active';
      delete a.deactivationMessage;
      return { status: 204 };
    }));

  const control = new Router()
    .on('GET', '/accounts', () => ({ status: 200, body: [...store.accounts.values()] }))
    .on('POST', '/accounts', (req) => ({ status: 201, body: store.add(req.body as SeedAdminAccount) }));

  const emu = await startEmulator({
    name: 'atlassian-admin',
    router,
    control,
    tls: opts.tls,
    port: opts.port,
    errorBody: (status, message) => ({ code: status, message }),
    onReset: () => {
      store = new AdminStore(seed);
      result.store = store;
    },
  });
  const result: AtlassianAdminEmulator = Object.assign(emu, { store, apiKey, orgId: store.orgId });
  return result;
}
