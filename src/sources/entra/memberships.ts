// Group memberships of many users at once: /users/{id}/memberOf/microsoft.graph.group
// (or transitiveMemberOf), 20 users per $batch, a few batches in flight. Each batched
// request succeeds or fails on its own, so throttled or failed ones are retried alone
// (honouring their Retry-After); a user in more than one page of groups is completed by
// following the nextLink in that user's answer.
import type { HttpClient } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { microsoftErrorMessage } from './errors.ts';
import { GraphBatcher, inBatches } from './batch.ts';
import { ADVANCED_HEADERS, castListing } from './advanced-query.ts';

const CONCURRENT_BATCHES = 4;

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
  private readonly batcher: GraphBatcher;

  constructor(
    private readonly graph: HttpClient,
    private readonly opts: MembershipOptions,
  ) {
    this.batcher = new GraphBatcher(graph, opts);
  }

  /** The memberOf request of one user (relative URL and headers), also for callers that batch it with other requests. */
  request(userId: string): { url: string; headers: Record<string, string> } {
    const nav = this.opts.transitive ? 'transitiveMemberOf' : 'memberOf';
    const select = this.opts.onlyGroupIds ? 'id,displayName' : 'displayName';
    return castListing(`/users/${encodeURIComponent(userId)}/${nav}/microsoft.graph.group`, { $select: select, $top: '999' });
  }

  /** Memberships of one user, paging directly (single-user sync). */
  async forUser(userId: string): Promise<string[] | null> {
    const first = await this.graph.send<GroupPage>({ method: 'GET', ...this.request(userId), accept: [404] });
    if (first.status === 404) return null;
    return this.collect(first.body);
  }

  async forUsers(userIds: readonly string[]): Promise<Memberships> {
    const result: Memberships = new Map();
    await inBatches(userIds, CONCURRENT_BATCHES, (chunk) => this.batch(chunk, result));
    return result;
  }

  private async batch(userIds: string[], result: Memberships): Promise<void> {
    const answers = await this.batcher.send<GroupPage>(userIds.map((id) => this.request(id)), 'return group memberships');
    for (const [i, r] of answers.entries()) {
      const userId = userIds[i]!;
      if (r.status === 200) {
        result.set(userId, await this.collect(r.body ?? {}));
      } else if (r.status === 404) {
        result.set(userId, null);
      } else {
        const message = microsoftErrorMessage(r.status, r.body) ?? `HTTP ${r.status}`;
        throw new IdsyncError(r.status === 401 || r.status === 403 ? 'AUTH' : 'BAD_REQUEST', `Microsoft Graph refused to read the groups of user ${userId}: ${message}`, {
          status: r.status,
          hint: r.status === 403 ? 'grant the application permission GroupMember.Read.All and give admin consent' : undefined,
        });
      }
    }
  }

  /** Display names from one page, following nextLinks to the end (the first page may come from the caller's own $batch). */
  async collect(first: GroupPage): Promise<string[]> {
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
      page = (await this.graph.send<GroupPage>({ method: 'GET', url: link, headers: { ...ADVANCED_HEADERS } })).body;
    }
    return names.sort();
  }
}

