// Typed calls to Confluence Cloud's REST v1 (/wiki/rest/api) through the shared HttpClient:
// accounts, CQL user search, user properties and groups by id.
import type { HttpClient } from '../../core/http.ts';

export interface CloudUser {
  accountId: string;
  accountType?: string;
  displayName?: string | null;
  /** Empty (or null in search results) when the owner hides it. */
  email?: string | null;
}

interface Page<T> {
  results: T[];
  start: number;
  limit: number;
  size: number;
  _links?: { next?: string };
}

export const PAGE_SIZE = 200;

/** One sentence out of Cloud's `{"statusCode","data":{errors:[{message:{translation}}]},"message"}`. */
export function confluenceCloudErrorMessage(_status: number, body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 300) || undefined;
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { message?: unknown; data?: { errors?: Array<{ message?: { translation?: string } }> } };
  const parts: string[] = [];
  if (typeof b.message === 'string' && b.message) parts.push(b.message);
  for (const e of b.data?.errors ?? []) if (e.message?.translation && !parts.includes(e.message.translation)) parts.push(e.message.translation);
  return parts.length ? parts.join('; ') : undefined;
}

export class ConfluenceCloudApi {
  constructor(private readonly http: HttpClient) {}

  async currentUser(): Promise<CloudUser> {
    return (await this.http.get<CloudUser>('/user/current')).body;
  }

  async user(accountId: string): Promise<CloudUser | null> {
    // 400 is Cloud's answer to an id that is not an account id at all: no such user either.
    const res = await this.http.get<CloudUser>('/user', { accountId }, [404, 400]);
    return res.status === 200 ? res.body : null;
  }

  /** Every account the CQL `type=user` search lists, page by page. */
  async *allUsers(): AsyncIterable<CloudUser[]> {
    for (let start = 0; ; ) {
      const page = (await this.http.get<Page<{ user?: CloudUser }>>('/search/user', { cql: 'type=user', start, limit: PAGE_SIZE })).body;
      yield page.results.map((r) => r.user).filter((u): u is CloudUser => !!u);
      if (!page._links?.next || page.results.length === 0) return;
      start += page.results.length;
    }
  }

  async canSearchUsers(): Promise<void> {
    await this.http.get('/search/user', { cql: 'type=user', limit: 1 });
  }

  async groupsOf(accountId: string): Promise<string[]> {
    const names: string[] = [];
    for (let start = 0; ; ) {
      const page = (await this.http.get<Page<{ name: string }>>('/user/memberof', { accountId, start, limit: PAGE_SIZE })).body;
      names.push(...page.results.map((g) => g.name));
      if (!page._links?.next || page.results.length === 0) return names.sort();
      start += page.results.length;
    }
  }

  async groupIdByName(name: string): Promise<string | undefined> {
    const res = await this.http.get<{ id: string }>('/group/by-name', { name }, [404]);
    return res.status === 404 ? undefined : res.body.id;
  }

  /** Creates a group and returns its id; a name taken meanwhile (409) resolves to that group. */
  async createGroup(name: string): Promise<string> {
    const res = await this.http.send<{ id: string }>({ method: 'POST', url: '/group', body: { name }, accept: [409] });
    if (res.status !== 409) return res.body.id;
    const id = await this.groupIdByName(name);
    if (!id) throw new Error(`group ${name} exists but cannot be read`);
    return id;
  }

  async addMember(groupId: string, accountId: string): Promise<void> {
    await this.http.send({ method: 'POST', url: '/group/userByGroupId', query: { groupId }, body: { accountId }, retryUnsafe: true });
  }

  async removeMember(groupId: string, accountId: string): Promise<void> {
    await this.http.send({ method: 'DELETE', url: '/group/userByGroupId', query: { groupId, accountId }, accept: [404] });
  }

  async getProperty(accountId: string, key: string): Promise<unknown | undefined> {
    const res = await this.http.get<{ value: unknown }>(`/user/${encodeURIComponent(accountId)}/property/${encodeURIComponent(key)}`, undefined, [404]);
    return res.status === 404 ? undefined : res.body.value;
  }

  /** Update when it exists (PUT, 404 if not), else create (POST, 409 if it appeared meanwhile). */
  async setProperty(accountId: string, key: string, value: unknown): Promise<void> {
    const url = `/user/${encodeURIComponent(accountId)}/property/${encodeURIComponent(key)}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const put = await this.http.send({ method: 'PUT', url, body: { value }, accept: [404] });
      if (put.status !== 404) return;
      const post = await this.http.send({ method: 'POST', url, body: { value }, accept: [409] });
      if (post.status !== 409) return;
    }
  }

  async deleteProperty(accountId: string, key: string): Promise<void> {
    await this.http.send({ method: 'DELETE', url: `/user/${encodeURIComponent(accountId)}/property/${encodeURIComponent(key)}`, accept: [404] });
  }
}
