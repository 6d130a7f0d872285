// Managers of many users at once, for listings that cannot `$expand=manager`: Graph refuses
// `$expand` together with advanced query parameters, so a listing whose $filter is an advanced
// query reads each user's `/users/{id}/manager` instead, 20 to a `$batch` (one HTTP request per
// 20 users; each inner request is one Graph call), a few batches in flight.
import type { HttpClient } from '../../core/http.ts';
import type { ManagerRef } from '../../core/types.ts';
import { IdsyncError } from '../../core/errors.ts';
import { MANAGER_FIELDS } from './catalogue.ts';
import { microsoftErrorMessage } from './errors.ts';
import { GraphBatcher, inBatches, type BatchOptions } from './batch.ts';

const CONCURRENT_BATCHES = 4;

/** Graph's manager object as a reference by its id (with what Graph returned of it), or null. */
export function managerRef(raw: Record<string, unknown> | undefined | null): ManagerRef | null {
  if (!raw || typeof raw !== 'object' || typeof raw.id !== 'string') return null;
  return { id: raw.id, attrs: { mail: raw.mail ?? null, userPrincipalName: raw.userPrincipalName ?? null, displayName: raw.displayName ?? null } };
}

export class ManagerReader {
  private readonly batcher: GraphBatcher;

  constructor(graph: HttpClient, opts: BatchOptions = {}) {
    this.batcher = new GraphBatcher(graph, opts);
  }

  /** Each user's manager reference; null for a user without one (Graph: 404). */
  async forUsers(userIds: readonly string[]): Promise<Map<string, ManagerRef | null>> {
    const result = new Map<string, ManagerRef | null>();
    await inBatches(userIds, CONCURRENT_BATCHES, async (chunk) => {
      const answers = await this.batcher.send<Record<string, unknown>>(
        chunk.map((id) => ({ url: `/users/${encodeURIComponent(id)}/manager?$select=${MANAGER_FIELDS.join(',')}` })),
        'return managers',
      );
      for (const [i, r] of answers.entries()) {
        const userId = chunk[i]!;
        if (r.status === 200) result.set(userId, managerRef(r.body));
        else if (r.status === 404) result.set(userId, null);
        else {
          throw new IdsyncError(r.status === 401 || r.status === 403 ? 'AUTH' : 'BAD_REQUEST', `Microsoft Graph refused to read the manager of user ${userId}: ${microsoftErrorMessage(r.status, r.body) ?? `HTTP ${r.status}`}`, {
            status: r.status,
            hint: r.status === 403 ? 'grant the application permission User.Read.All and give admin consent' : undefined,
          });
        }
      }
    });
    return result;
  }
}
