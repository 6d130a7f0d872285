// Calls of Crowd's usermanagement REST API (application Basic auth, JSON by Accept header).
// Crowd answers "not found" and "already there" with specific `reason` codes; this wrapper
// turns the harmless ones into plain outcomes so the connector reads like the intent.
import { IdsyncError } from '../../core/errors.ts';
import type { HttpClient, HttpResponse } from '../../core/http.ts';

export interface CrowdUserEntity {
  name: string;
  /** Immutable key (Crowd 2.7+); absent on older servers. */
  key?: string;
  'first-name'?: string;
  'last-name'?: string;
  'display-name'?: string;
  email?: string;
  active?: boolean;
  attributes?: { attributes?: Array<{ name: string; values: string[] }> };
}

/** The body of PUT /user: every field, because Crowd overwrites what is omitted. */
export interface CrowdUserWrite {
  name: string;
  'first-name': string;
  'last-name': string;
  'display-name': string;
  email: string;
  active: boolean;
}

export function crowdErrorMessage(_status: number, body: unknown): string | undefined {
  if (typeof body === 'string') return body ? body.slice(0, 300) : undefined;
  const b = body as { reason?: string; message?: string } | undefined;
  if (!b) return undefined;
  if (b.message && b.reason) return `${b.message} (${b.reason})`;
  return b.message ?? b.reason;
}

const reasonOf = (res: HttpResponse): string | undefined => (res.body as { reason?: string } | undefined)?.reason;

export class CrowdApi {
  constructor(private readonly http: HttpClient) {}

  /** By key (immutable) or username; null when Crowd says USER_NOT_FOUND. */
  async user(by: { key: string } | { username: string }): Promise<CrowdUserEntity | null> {
    const query = 'key' in by ? { key: by.key, expand: 'attributes' } : { username: by.username, expand: 'attributes' };
    const res = await this.http.get<CrowdUserEntity>('/user', query, [404]);
    return res.status === 404 ? null : res.body;
  }

  /** Users whose email equals this one (CQL, compared without case). */
  async usersByEmail(email: string): Promise<CrowdUserEntity[]> {
    const restriction = `email = "${email.replace(/(["\\])/g, '\\$1')}"`;
    const res = await this.http.get<{ users?: CrowdUserEntity[] }>('/search', {
      'entity-type': 'user',
      restriction,
      expand: 'user',
      'max-results': 10,
    });
    return (res.body.users ?? []).filter((u) => u.email?.toLowerCase() === email.toLowerCase());
  }

  async testSearch(): Promise<void> {
    await this.http.get('/search', { 'entity-type': 'user', restriction: 'name = "idsync-connection-test"', 'max-results': 1 });
  }

  /** Creates a user; 'exists' when Crowd says the name is taken (400 INVALID_USER or 409). */
  async createUser(user: CrowdUserWrite, password: string): Promise<'created' | 'exists'> {
    const res = await this.http.send({ method: 'POST', url: '/user', body: { ...user, password: { value: password } }, accept: [400, 409] });
    if (res.status === 409) return 'exists';
    if (res.status === 400) {
      const message = crowdErrorMessage(400, res.body) ?? '';
      if (reasonOf(res) === 'INVALID_USER' && /already exists/i.test(message)) return 'exists';
      throw new IdsyncError('BAD_REQUEST', `Crowd refused the new user: ${message}`, { status: 400 });
    }
    return 'created';
  }

  async updateUser(username: string, user: CrowdUserWrite): Promise<void> {
    await this.http.send({ method: 'PUT', url: '/user', query: { username }, body: user });
  }

  /** Deletes a user; undefined when done or gone already (404), else Crowd's refusal in words. */
  async deleteUser(username: string): Promise<string | undefined> {
    const res = await this.http.send({ method: 'DELETE', url: '/user', query: { username }, accept: [403, 404] });
    if (res.status !== 403) return undefined;
    // Only the directory permission is about deleting; any other 403 (the application may not
    // use Crowd at all, e.g. from this address) concerns every request: the target stops.
    if (reasonOf(res) !== 'APPLICATION_PERMISSION_DENIED') {
      throw new IdsyncError('AUTH', `Crowd refused the application: ${crowdErrorMessage(403, res.body) ?? 'forbidden'}`, { status: 403 });
    }
    return crowdErrorMessage(403, res.body) ?? 'permission denied';
  }

  async rename(username: string, newName: string): Promise<void> {
    // Renaming twice to the same name is harmless, so a lost answer may be repeated.
    await this.http.send({ method: 'POST', url: '/user/rename', query: { username }, body: { 'new-name': newName }, retryUnsafe: true });
  }

  async setAttribute(username: string, name: string, values: string[]): Promise<void> {
    await this.http.send({ method: 'POST', url: '/user/attribute', query: { username }, body: { attributes: [{ name, values }] }, retryUnsafe: true });
  }

  async deleteAttribute(username: string, name: string): Promise<void> {
    await this.http.send({ method: 'DELETE', url: '/user/attribute', query: { username, attributename: name }, accept: [404] });
  }

  async directGroups(username: string): Promise<string[]> {
    const names: string[] = [];
    const max = 500;
    for (let start = 0; ; start += max) {
      const res = await this.http.get<{ groups?: Array<{ name: string }> }>('/user/group/direct', { username, 'start-index': start, 'max-results': max });
      const page = res.body.groups ?? [];
      names.push(...page.map((g) => g.name));
      if (page.length < max) return names;
    }
  }

  /** Adds a direct membership: 'missing-group' when the group does not exist; existing membership is fine. */
  async addMembership(username: string, group: string): Promise<'added' | 'missing-group'> {
    const res = await this.http.send({ method: 'POST', url: '/user/group/direct', query: { username }, body: { name: group }, accept: [400, 404, 409], retryUnsafe: true });
    // Crowd's REST reference gives 409 for "already a direct member"; the status is not pinned by
    // a source we could check, so the reason code decides too (a 400 MEMBERSHIP_ALREADY_EXISTS is fine).
    if (res.status === 409 || reasonOf(res) === 'MEMBERSHIP_ALREADY_EXISTS') return 'added';
    if (reasonOf(res) === 'GROUP_NOT_FOUND') return 'missing-group';
    if (res.status === 404) throw new IdsyncError('NOT_FOUND', `Crowd: ${crowdErrorMessage(404, res.body)}`, { status: 404 });
    if (res.status === 400) throw new IdsyncError('BAD_REQUEST', `Crowd: ${crowdErrorMessage(400, res.body)}`, { status: 400 });
    return 'added';
  }

  /** Removes a direct membership; a membership or group that is already gone is fine. */
  async removeMembership(username: string, group: string): Promise<void> {
    const res = await this.http.send({ method: 'DELETE', url: '/user/group/direct', query: { username, groupname: group }, accept: [404] });
    if (res.status === 404 && reasonOf(res) === 'USER_NOT_FOUND') {
      throw new IdsyncError('NOT_FOUND', `Crowd: ${crowdErrorMessage(404, res.body)}`, { status: 404 });
    }
  }

  async createGroup(name: string): Promise<void> {
    const res = await this.http.send({
      method: 'POST',
      url: '/group',
      body: { name, type: 'GROUP', description: 'Created by idsync', active: true },
      accept: [400],
    });
    // Someone (or a retried request) created it meanwhile: that is what we wanted.
    if (res.status === 400 && !/already exists/i.test(crowdErrorMessage(400, res.body) ?? '')) {
      throw new IdsyncError('BAD_REQUEST', `Crowd refused to create group ${name}: ${crowdErrorMessage(400, res.body)}`, { status: 400 });
    }
  }
}
