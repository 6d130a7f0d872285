// Typed calls to Confluence DC's REST API (admin user API of 8.4+, users, memberships, groups),
// all through the shared HttpClient. Paths are relative to the configured base URL, which
// carries Confluence's context path, as do the `_links.next` links Confluence returns.
import type { HttpClient } from '../../core/http.ts';

export interface DcUser {
  type?: string;
  username: string;
  userKey: string;
  displayName?: string;
  status?: string;
  details?: {
    personal?: { phone?: string | null; im?: string | null; website?: string | null; email?: string | null };
    business?: { position?: string | null; department?: string | null; location?: string | null };
  };
}

/** GET /rest/api/longtask/{id}. */
export interface LongTask {
  id?: string;
  finished?: boolean;
  successful?: boolean;
  percentageComplete?: number;
  messages?: Array<{ translation?: string; key?: string } | string>;
}

interface Page<T> {
  results: T[];
  start: number;
  limit: number;
  size: number;
  _links?: { next?: string };
}

export const PAGE_SIZE = 200;
export const USER_EXPAND = 'status,details.personal,details.business';

/** One readable sentence out of Confluence's `{"statusCode","data":{errors},"message","reason"}`. */
export function confluenceErrorMessage(_status: number, body: unknown): string | undefined {
  if (typeof body === 'string') return body.startsWith('<') ? undefined : body.slice(0, 300) || undefined;
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { message?: unknown; data?: { errors?: Array<{ message?: { translation?: string; key?: string } }> } };
  const parts: string[] = [];
  if (typeof b.message === 'string' && b.message) parts.push(b.message);
  for (const e of b.data?.errors ?? []) {
    const t = e.message?.translation ?? e.message?.key;
    if (t && !parts.includes(t)) parts.push(t);
  }
  return parts.length ? parts.join('; ') : undefined;
}

export class ConfluenceDcApi {
  constructor(private readonly http: HttpClient) {}

  async currentUser(): Promise<DcUser> {
    return (await this.http.get<DcUser>('/rest/api/user/current')).body;
  }

  /** Whether the caller holds the administrator permission the admin user API needs. */
  async isAdmin(): Promise<boolean> {
    const res = await this.http.get('/rest/api/admin/users/list/active', { limit: 1 }, [403]);
    return res.status !== 403;
  }

  async userByKey(key: string): Promise<DcUser | null> {
    const res = await this.http.get<DcUser>('/rest/api/user', { key, expand: USER_EXPAND }, [404]);
    return res.status === 404 ? null : res.body;
  }

  async userByName(username: string): Promise<DcUser | null> {
    const res = await this.http.get<DcUser>('/rest/api/user', { username, expand: USER_EXPAND }, [404]);
    return res.status === 404 ? null : res.body;
  }

  /** All users, page by page, following Confluence's `_links.next`. */
  async *listUsers(expand: string): AsyncIterable<DcUser[]> {
    let next: string | undefined = this.http.resolve('/rest/api/user/list', { start: 0, limit: PAGE_SIZE, expand });
    while (next) {
      const page: Page<DcUser> = (await this.http.get<Page<DcUser>>(next)).body;
      yield page.results;
      next = page._links?.next && page.results.length > 0 ? page._links.next : undefined;
    }
  }

  async groupsOf(username: string): Promise<string[]> {
    const names: string[] = [];
    for (let start = 0; ; ) {
      const page = (await this.http.get<Page<{ name: string }>>('/rest/api/user/memberof', { username, start, limit: PAGE_SIZE })).body;
      names.push(...page.results.map((g) => g.name));
      if (!page._links?.next || page.results.length === 0) return names.sort();
      start += page.results.length;
    }
  }

  async groupExists(name: string): Promise<boolean> {
    const res = await this.http.get(`/rest/api/group/${encodeURIComponent(name)}`, undefined, [404]);
    return res.status !== 404;
  }

  /** Creates a group; an existing one (409) is fine. */
  async createGroup(name: string): Promise<void> {
    await this.http.send({ method: 'POST', url: '/rest/api/admin/group', body: { name }, accept: [409] });
  }

  /** Adds a membership; false when Confluence says the user or the group does not exist. */
  async addMember(username: string, group: string): Promise<boolean> {
    const res = await this.http.send({ method: 'PUT', url: `/rest/api/user/${encodeURIComponent(username)}/group/${encodeURIComponent(group)}`, accept: [404] });
    return res.status !== 404;
  }

  async removeMember(username: string, group: string): Promise<void> {
    // 404: the group (or membership) is gone already, which is what was asked for.
    await this.http.send({ method: 'DELETE', url: `/rest/api/user/${encodeURIComponent(username)}/group/${encodeURIComponent(group)}`, accept: [404] });
  }

  async createUser(body: { userName: string; fullName: string; email: string; password?: string; notifyViaEmail?: boolean }): Promise<string> {
    const res = await this.http.send<{ userKey: string }>({ method: 'POST', url: '/rest/api/admin/user', body });
    return res.body.userKey;
  }

  async updateUser(username: string, body: { fullName?: string; email?: string }): Promise<void> {
    await this.http.send({ method: 'PUT', url: `/rest/api/admin/user/${encodeURIComponent(username)}`, body });
  }

  /**
   * Starts removing a user (DELETE /rest/api/admin/user/{username}, processed asynchronously):
   * the long task to follow, or null when Confluence says there is no such user (404).
   */
  async startDeletion(username: string): Promise<{ status: string } | 'gone' | 'no-task'> {
    const res = await this.http.send<{ id?: string; links?: { status?: string } }>({
      method: 'DELETE',
      url: `/rest/api/admin/user/${encodeURIComponent(username)}`,
      accept: [404],
    });
    if (res.status === 404) return 'gone';
    const status = res.body?.links?.status ?? (res.body?.id ? `/rest/api/longtask/${encodeURIComponent(res.body.id)}` : undefined);
    return status ? { status } : 'no-task';
  }

  async longTask(statusUrl: string): Promise<LongTask | null> {
    const res = await this.http.get<LongTask>(statusUrl, undefined, [404]);
    return res.status === 404 ? null : res.body;
  }

  async setActive(username: string, active: boolean): Promise<void> {
    await this.http.send({ method: 'PUT', url: `/rest/api/admin/user/${encodeURIComponent(username)}/${active ? 'enable' : 'disable'}` });
  }
}
