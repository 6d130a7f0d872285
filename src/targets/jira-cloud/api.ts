// Thin typed wrapper over the Jira Cloud REST v3 calls the target needs. Everything goes
// through the shared HttpClient; this file only knows paths, bodies and Jira's answers.
import { IdsyncError } from '../../core/errors.ts';
import type { HttpClient } from '../../core/http.ts';
import type { Json } from '../../core/types.ts';

export interface CloudUser {
  accountId: string;
  accountType?: string;
  /** Absent when the owner's profile visibility hides it. */
  emailAddress?: string;
  displayName?: string;
  active?: boolean;
  groups?: { size: number; items: Array<{ name: string; groupId?: string }> };
}

export interface PageBean<T> {
  startAt: number;
  maxResults: number;
  total: number;
  isLast: boolean;
  values: T[];
}

/** Jira's error envelope `{errorMessages:[], errors:{field: msg}}` as one sentence. */
export function jiraErrorMessage(_status: number, body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? body.slice(0, 300) : undefined;
  const b = body as { errorMessages?: unknown; errors?: unknown; message?: unknown };
  const parts: string[] = [];
  if (Array.isArray(b.errorMessages)) parts.push(...b.errorMessages.map(String));
  if (b.errors && typeof b.errors === 'object') {
    for (const [field, msg] of Object.entries(b.errors as Record<string, unknown>)) parts.push(`${field}: ${String(msg)}`);
  }
  if (parts.length === 0 && typeof b.message === 'string') parts.push(b.message);
  return parts.length ? parts.join('; ') : undefined;
}

export class JiraCloudApi {
  constructor(private readonly http: HttpClient) {}

  myself() {
    return this.http.get<CloudUser>('/myself');
  }

  serverInfo() {
    return this.http.get<{ deploymentType?: string; version?: string }>('/serverInfo');
  }

  /** The account with its groups, or null on 404. */
  async user(accountId: string): Promise<CloudUser | null> {
    const res = await this.http.get<CloudUser>('/user', { accountId, expand: 'groups' }, [404]);
    return res.status === 404 ? null : res.body;
  }

  /** Active accounts matching a query (display name prefix or email). */
  async search(query: string, maxResults = 20): Promise<CloudUser[]> {
    const res = await this.http.get<CloudUser[]>('/user/search', { query, maxResults });
    return Array.isArray(res.body) ? res.body : [];
  }

  /** The property value, or undefined when the account has none under that key. */
  async getProperty(accountId: string, key: string): Promise<Json | undefined> {
    const res = await this.http.get<{ value: Json }>(`/user/properties/${encodeURIComponent(key)}`, { accountId }, [404]);
    return res.status === 404 ? undefined : res.body.value;
  }

  async setProperty(accountId: string, key: string, valueJson: string): Promise<void> {
    await this.http.send({ method: 'PUT', url: `/user/properties/${encodeURIComponent(key)}`, query: { accountId }, body: valueJson });
  }

  async deleteProperty(accountId: string, key: string): Promise<void> {
    await this.http.send({ method: 'DELETE', url: `/user/properties/${encodeURIComponent(key)}`, query: { accountId }, accept: [404] });
  }

  /** Resolves group names to ids; names Jira does not know are absent from the result. */
  async groupIds(names: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < names.length; i += 50) {
      const params = new URLSearchParams();
      for (const n of names.slice(i, i + 50)) params.append('groupName', n);
      params.set('maxResults', '50');
      let startAt = 0;
      for (;;) {
        params.set('startAt', String(startAt));
        const res = await this.http.get<PageBean<{ name: string; groupId: string }>>(`/group/bulk?${params.toString()}`);
        for (const g of res.body.values ?? []) found.set(g.name.toLowerCase(), g.groupId);
        if (res.body.isLast || (res.body.values ?? []).length === 0) break;
        startAt += res.body.values.length;
      }
    }
    return found;
  }

  async createGroup(name: string): Promise<string> {
    const res = await this.http.send<{ groupId: string }>({ method: 'POST', url: '/group', body: { name } });
    return res.body.groupId;
  }

  /** Adds a member; "already a member" (400) counts as done. */
  async addMember(groupId: string, accountId: string): Promise<void> {
    const res = await this.http.send({ method: 'POST', url: '/group/user', query: { groupId }, body: { accountId }, accept: [400] });
    if (res.status === 400 && !/already a member/i.test(jiraErrorMessage(400, res.body) ?? '')) {
      throw badRequest(res.body);
    }
  }

  /** Removes a member; a group or membership that is already gone counts as done. */
  async removeMember(groupId: string, accountId: string): Promise<void> {
    const res = await this.http.send({ method: 'DELETE', url: '/group/user', query: { groupId, accountId }, accept: [400, 404] });
    if (res.status === 400 && !/not a member/i.test(jiraErrorMessage(400, res.body) ?? '')) throw badRequest(res.body);
  }
}

function badRequest(body: unknown): IdsyncError {
  return new IdsyncError('BAD_REQUEST', `Jira Cloud refused the change: ${jiraErrorMessage(400, body) ?? 'no reason given'}`, { status: 400 });
}
