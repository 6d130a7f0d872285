// Calls of the Atlassian Cloud organisation and user-management APIs (api.atlassian.com,
// Bearer org API key). Answers that mean "this account is not managed by the organisation"
// (403) come back as values, not errors, because the target reports them as skipped fields.
import { IdsyncError } from '../../core/errors.ts';
import type { HttpClient } from '../../core/http.ts';

export interface AdminProfile {
  account_id: string;
  account_status: 'active' | 'inactive' | 'closed' | string;
  name: string;
  email: string;
  nickname?: string;
  zoneinfo?: string | null;
  locale?: string | null;
  extended_profile?: Record<string, string | undefined>;
}

export interface DirectoryUser {
  accountId: string;
  email?: string;
  name?: string;
  accountStatus?: string;
  claimStatus?: 'managed' | 'unmanaged' | string;
}

/** The result of a call on one account: its answer, or the reason it could not be done. */
export type AccountAnswer<T> = { kind: 'ok'; value: T } | { kind: 'unmanaged' } | { kind: 'missing' };

/** Error bodies differ per API: `{key}`, `{code,message}`, `{errors:[{title,detail}]}`, `[{code,message}]`. */
export function adminErrorMessage(_status: number, body: unknown): string | undefined {
  if (Array.isArray(body)) return body.map((e) => (e as { message?: string; code?: string }).message ?? (e as { code?: string }).code).join('; ');
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? body.slice(0, 300) : undefined;
  const b = body as Record<string, any>;
  if (Array.isArray(b.errors)) return b.errors.map((e: any) => e.detail ?? e.title ?? e.code).join('; ');
  const violations = b.context?.fieldViolations;
  if (Array.isArray(violations)) {
    return violations.map((v: any) => `${v.field}: ${(v.violations ?? []).map((x: any) => x.key).join(', ')}`).join('; ');
  }
  if (typeof b.message === 'string') return b.message;
  if (typeof b.key === 'string') return b.key;
  return undefined;
}

export class AtlassianAdminApi {
  constructor(
    private readonly http: HttpClient,
    private readonly orgId: string,
    private readonly directoryId: string,
  ) {}

  async orgs(): Promise<Array<{ id: string; name?: string }>> {
    const res = await this.http.get<{ data?: Array<{ id: string; attributes?: { name?: string } }> }>('/admin/v1/orgs');
    return (res.body.data ?? []).map((o) => ({ id: o.id, name: o.attributes?.name }));
  }

  /** Directory users with exactly this email (v2 search; `emails` is an exact, case-insensitive match). */
  async usersByEmail(email: string): Promise<DirectoryUser[]> {
    const found: DirectoryUser[] = [];
    let cursor: string | undefined;
    do {
      const res = await this.http.send<{ data?: DirectoryUser[]; links?: { next?: string | null } }>({
        method: 'POST',
        url: `/admin/v2/orgs/${encodeURIComponent(this.orgId)}/directories/${encodeURIComponent(this.directoryId)}/users/search`,
        body: { emails: [email], limit: 100, ...(cursor ? { cursor } : {}) },
        // A search changes nothing: repeating it after a dropped connection is harmless.
        retryUnsafe: true,
      });
      found.push(...(res.body.data ?? []));
      cursor = res.body.links?.next ?? undefined;
    } while (cursor);
    return found.filter((u) => u.email?.toLowerCase() === email.toLowerCase());
  }

  async profile(accountId: string): Promise<AccountAnswer<AdminProfile>> {
    const res = await this.http.get<{ account: AdminProfile }>(`/users/${encodeURIComponent(accountId)}/manage/profile`, undefined, [403, 404]);
    return answer(res.status, () => res.body.account);
  }

  async updateProfile(accountId: string, patch: Record<string, unknown>): Promise<AccountAnswer<AdminProfile>> {
    const res = await this.http.send<{ account: AdminProfile }>({
      method: 'PATCH',
      url: `/users/${encodeURIComponent(accountId)}/manage/profile`,
      body: patch,
      accept: [403, 404],
      // Setting the same values twice gives the same profile.
      retryUnsafe: true,
    });
    return answer(res.status, () => res.body.account);
  }

  async setEmail(accountId: string, email: string): Promise<AccountAnswer<void>> {
    const res = await this.http.send<{ key?: string; context?: { domain?: string } }>({
      method: 'PUT',
      url: `/users/${encodeURIComponent(accountId)}/manage/email`,
      body: { email },
      accept: [403, 404],
    });
    // 403 also answers an address on a domain the organisation has not verified: that is this
    // value's fault (the field fails), not an unmanaged account (which would be skipped).
    if (res.status === 403 && res.body?.key === 'forbidden.unclaimedDomain') {
      throw new IdsyncError('BAD_REQUEST', `the domain ${res.body.context?.domain ?? email.split('@').pop()} is not verified by your organisation, so no managed account can use ${email}`, {
        status: 403,
        hint: 'verify the domain in admin.atlassian.com, or map an address on a verified domain',
      });
    }
    return answer(res.status, () => undefined);
  }

  /** What the organisation may do to this account (GET /users/{id}/manage): the delete privilege. */
  async deletePermission(accountId: string): Promise<AccountAnswer<{ allowed: boolean; reason?: string }>> {
    const res = await this.http.get<Record<string, { allowed?: boolean; reason?: { key?: string } } | undefined>>(`/users/${encodeURIComponent(accountId)}/manage`, undefined, [403, 404]);
    return answer(res.status, () => {
      const p = res.body['lifecycle.delete'];
      return { allowed: p?.allowed !== false, reason: p?.reason?.key };
    });
  }

  /**
   * POST /users/{id}/manage/lifecycle/delete: the account is deactivated now and deleted after a
   * 14-day grace period. 'scheduled' also when it already was (400 on a closed account).
   */
  async deleteAccount(accountId: string): Promise<AccountAnswer<'scheduled'> | { kind: 'refused'; message: string }> {
    const res = await this.http.send({
      method: 'POST',
      url: `/users/${encodeURIComponent(accountId)}/manage/lifecycle/delete`,
      accept: [400, 403, 404],
      // A repeat after a lost answer meets a closed account (400 "closed"), read as scheduled.
      retryUnsafe: true,
    });
    if (res.status === 400) {
      const message = adminErrorMessage(400, res.body) ?? 'refused';
      const closed = Array.isArray(res.body) && res.body.some((e) => (e as { code?: string }).code === 'closed');
      return closed ? { kind: 'ok', value: 'scheduled' } : { kind: 'refused', message };
    }
    if (res.status === 403 && Array.isArray(res.body)) return { kind: 'refused', message: adminErrorMessage(403, res.body) ?? 'forbidden' };
    return answer(res.status, () => 'scheduled' as const);
  }

  async setActive(accountId: string, active: boolean, message: string): Promise<AccountAnswer<void>> {
    const res = await this.http.send({
      method: 'POST',
      url: `/users/${encodeURIComponent(accountId)}/manage/lifecycle/${active ? 'enable' : 'disable'}`,
      body: active ? undefined : { message },
      accept: [403, 404],
      // Enabling or disabling twice ends in the same state.
      retryUnsafe: true,
    });
    return answer(res.status, () => undefined);
  }
}

function answer<T>(status: number, value: () => T): AccountAnswer<T> {
  if (status === 403) return { kind: 'unmanaged' };
  if (status === 404) return { kind: 'missing' };
  if (status >= 200 && status < 300) return { kind: 'ok', value: value() };
  throw new IdsyncError('INTERNAL', `unexpected status ${status} from the Atlassian admin API`);
}
