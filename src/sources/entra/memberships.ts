// Group memberships of many users at once: /users/{id}/memberOf/microsoft.graph.group
// (or transitiveMemberOf), 20 users per $batch, a few batches in flight. Each batched
// request succeeds or fails on its own, so throttled or failed ones are retried alone
// (honouring their Retry-After); a user in more than one page of groups is completed by
// following the nextLink in that user's answer.
import type { HttpClient } from '../../core/http.ts';
import { retryAfterMs, realSleep } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { microsoftErrorMessage } from './errors.ts';

const BATCH_LIMIT = 20;
const CONCURRENT_BATCHES = 4;

interface BatchResponse {
  responses?: Array<{ id: string; status: number; headers?: Record<string, string>; body?: GroupPage }>;
}

interface GroupPage {
  value?: Array<{ id?: string; displayName?: string | null }>;
  '@odata.nextLink'?: string;
}

export interface MembershipOptions {
  transitive: boolean;
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Backoff unit for failures without Retry-After. */
  baseDelayMs?: number;
  /**
   * Only groups with these ids count (the source's groupFilter, resolved by listing the
   * matching groups), so per-user and per-group reading give the same `groups`.
   */
  onlyGroupIds?: ReadonlySet<string>;
}

/** Group display names per user id; null when the user no longer exists. */
export type Memberships = Map<string, string[] | null>;

export class MembershipReader {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;

  constructor(
    private readonly graph: HttpClient,
    private readonly opts: MembershipOptions,
  ) {
    this.sleep = opts.sleep ?? realSleep;
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.baseDelayMs = opts.baseDelayMs ?? 500;
  }

  private path(userId: string): string {
    const nav = this.opts.transitive ? 'transitiveMemberOf' : 'memberOf';
    const select = this.opts.onlyGroupIds ? 'id,displayName' : 'displayName';
    return `/users/${encodeURIComponent(userId)}/${nav}/microsoft.graph.group?$select=${select}&$top=999`;
  }

  /** Memberships of one user, paging directly (single-user sync). */
  async forUser(userId: string): Promise<string[] | null> {
    const first = await this.graph.send<GroupPage>({ method: 'GET', url: this.path(userId), accept: [404] });
    if (first.status === 404) return null;
    return this.collect(first.body);
  }

  async forUsers(userIds: readonly string[]): Promise<Memberships> {
    const result: Memberships = new Map();
    const chunks: string[][] = [];
    for (let i = 0; i < userIds.length; i += BATCH_LIMIT) chunks.push(userIds.slice(i, i + BATCH_LIMIT));
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        await this.batch(chunk, result);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_BATCHES, chunks.length) }, worker));
    return result;
  }

  private async batch(userIds: string[], result: Memberships): Promise<void> {
    let pending = userIds;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const requests = pending.map((id, i) => ({ id: String(i), method: 'GET', url: this.path(id) }));
      const res = await this.graph.send<BatchResponse>({ method: 'POST', url: '/$batch', body: { requests }, retryUnsafe: true });
      const responses = res.body?.responses;
      if (!Array.isArray(responses)) throw new IdsyncError('TRANSIENT', 'Microsoft Graph answered a $batch request without responses', { hint: 'retry the run' });
      const retry: string[] = [];
      let waitMs = 0;
      let lastFailure = '';
      for (const r of responses) {
        const userId = pending[Number(r.id)];
        if (userId === undefined) continue;
        if (r.status === 200) {
          result.set(userId, await this.collect(r.body ?? {}));
        } else if (r.status === 404) {
          result.set(userId, null);
        } else if (r.status === 429 || r.status >= 500) {
          retry.push(userId);
          lastFailure = `${r.status} ${microsoftErrorMessage(r.status, r.body) ?? ''}`.trim();
          const after = retryAfterMs(headerValue(r.headers, 'retry-after'));
          waitMs = Math.max(waitMs, after ?? this.baseDelayMs * 2 ** Math.min(attempt - 1, 6));
        } else {
          const message = microsoftErrorMessage(r.status, r.body) ?? `HTTP ${r.status}`;
          throw new IdsyncError(r.status === 401 || r.status === 403 ? 'AUTH' : 'BAD_REQUEST', `Microsoft Graph refused to read the groups of user ${userId}: ${message}`, {
            status: r.status,
            hint: r.status === 403 ? 'grant the application permission GroupMember.Read.All and give admin consent' : undefined,
          });
        }
      }
      // Requests that got no answer at all are retried too.
      const answered = new Set(responses.map((r) => pending[Number(r.id)]));
      for (const id of pending) if (!answered.has(id) && !retry.includes(id)) retry.push(id);
      if (retry.length === 0) return;
      if (attempt >= this.maxAttempts) {
        throw new IdsyncError(lastFailure.startsWith('429') ? 'RATE_LIMITED' : 'TRANSIENT', `Microsoft Graph kept failing to return group memberships (${lastFailure || 'no answer'}) after ${attempt} attempts`, {
          hint: 'Microsoft Graph is throttling or unavailable; retry the run later',
        });
      }
      await this.sleep(waitMs);
      pending = retry;
    }
  }

  /** Display names from one page, following nextLinks to the end. */
  private async collect(first: GroupPage): Promise<string[]> {
    const names: string[] = [];
    const only = this.opts.onlyGroupIds;
    let page: GroupPage | undefined = first;
    for (;;) {
      if (!Array.isArray(page?.value)) throw new IdsyncError('TRANSIENT', 'Microsoft Graph returned a memberOf page without a value list');
      for (const g of page.value) {
        if (typeof g.displayName !== 'string') continue;
        if (only && !(typeof g.id === 'string' && only.has(g.id))) continue;
        names.push(g.displayName);
      }
      const link: string | undefined = page['@odata.nextLink'];
      if (!link) break;
      page = (await this.graph.get<GroupPage>(link)).body;
    }
    return names.sort();
  }
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}
