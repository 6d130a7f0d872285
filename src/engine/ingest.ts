// What a run ingests, as one stream of batches whatever the trigger: a full read (listUsers),
// an incremental read (changes since the checkpoint, falling back to a full read by itself when
// the checkpoint expired or was taken for another query), or one user. The engine's pipeline
// (engine.ts) writes each batch into the shadow and projects what changed; nothing else in a
// run depends on the trigger.
import { createHash } from 'node:crypto';
import type { ChangePage, GroupChange, SourceGroup, SourceQuery, SourceRemoval, SourceUser } from '../core/types.ts';
import { IdsyncError, errorText } from '../core/errors.ts';
import { reactionTo } from '../core/error-policy.ts';
import type { ShadowRepo, TombstoneReason } from '../store/shadow.ts';
import type { Runtime } from './runtime.ts';
import { prefetch } from './concurrency.ts';

export interface IngestBatch {
  users: SourceUser[];
  /** Users the provider says are gone (a delta's removals, a single read's 404). */
  removed: Array<SourceRemoval | { id: string; reason: TombstoneReason }>;
  /** Last batch of a read that returned every user in scope: who it left out is gone. */
  complete?: boolean;
  /** Last batch of an incremental read: the checkpoint that continues after it. */
  checkpoint?: string;
  /** With `complete`, from sources that know them: every group in scope (see UserPage.groupList). */
  groupList?: SourceGroup[];
  /** Group changes of an incremental read (renames, deletions, members): see engine/group-ingest.ts. */
  groupChanges?: GroupChange[];
}

export interface Reader {
  /**
   * The read returns every user in scope (a full read, a seeding round): every user it returns
   * is projected (the link fingerprints make the unchanged ones cheap), and after a complete end
   * those it left out get a tombstone. Otherwise only what changed is projected.
   */
  readonly exhaustive: boolean;
  /** Project every user read, changed or not (defaults to `exhaustive`; a single-user sync always projects its user). */
  readonly projectAll?: boolean;
  /** A read whose end must say `complete`, else the run fails (a full listing). */
  readonly requireComplete?: boolean;
  /** Set once the batches are consumed: what the run says beside its status (a fallback). */
  notice?: string;
  /** Set for incremental reads: the key the checkpoint is stored under. */
  readonly checkpointKey?: string;
  batches(): AsyncIterable<IngestBatch>;
}

/** A full read: the source's listing, page by page. */
export function fullRead(runtime: Runtime, signal?: AbortSignal): Reader {
  return {
    exhaustive: true,
    requireComplete: true,
    async *batches() {
      for await (const page of prefetch(runtime.source.listUsers({ ...runtime.query, signal }))) {
        yield { users: page.users, removed: [], complete: page.complete === true, ...(page.complete && page.groupList ? { groupList: page.groupList } : {}) };
      }
    },
  };
}

/**
 * What the checkpoint of a connector is valid for: the query (a mapping that now needs other
 * attributes must not continue a delta taken without them) and the mappings (a changed rule must
 * reach every user, so the feed is seeded again, which projects everyone).
 */
export function checkpointKeyOf(runtime: Runtime): string {
  const q = { attributes: [...runtime.query.attributes].sort(), groups: runtime.query.groups, manager: runtime.query.manager, requiredGroups: runtime.requiredGroups };
  return createHash('sha1').update(JSON.stringify([q, runtime.targets.map((t) => t.mappingHash)])).digest('base64url');
}

/**
 * An incremental read: the source's changes since the stored checkpoint. Without a checkpoint
 * (or one taken for another query) it is a seeding round from none, which returns everyone. When
 * the provider no longer accepts the checkpoint, it reads in full (a seeding round) by itself
 * and says so in `notice`.
 */
export async function incrementalRead(runtime: Runtime, shadow: ShadowRepo, signal?: AbortSignal): Promise<Reader> {
  const source = runtime.source;
  if (!source.changes) {
    throw new IdsyncError('CONFIG', `the source of connector ${runtime.connector.id} (${source.kind}) has no change feed; it cannot be synced incrementally`, {
      hint: 'run a full sync instead, or switch schedule.incremental off for this connector',
    });
  }
  const key = checkpointKeyOf(runtime);
  const state = await shadow.state(runtime.connector.id);
  let from: string | null = state.checkpoint;
  let notice: string | undefined;
  if (from && state.checkpointKey !== key) {
    from = null;
    notice = 'the mapping changed since the last incremental sync (other attributes or rules): every user was read again';
  }
  const query = { ...runtime.query, signal } satisfies SourceQuery;
  const reader: Reader & { exhaustive: boolean } = {
    exhaustive: from === null,
    checkpointKey: key,
    notice,
    async *batches() {
      try {
        for await (const page of prefetch(source.changes!(from, query))) yield batchOf(page);
      } catch (e) {
        if (from === null || reactionTo(e, 'source') !== 'full-read') throw e;
        // The batches already ingested stay applied; the seeding round re-reads them unchanged.
        reader.notice = `the identity provider no longer accepts the checkpoint (${errorText(e)}): read in full instead`;
        reader.exhaustive = true;
        from = null;
        for await (const page of prefetch(source.changes!(null, query))) yield batchOf(page);
      }
    },
  };
  return reader;
}

function batchOf(page: ChangePage): IngestBatch {
  const batch: IngestBatch = { users: page.users, removed: page.removed, complete: page.complete === true, checkpoint: page.checkpoint };
  if (page.complete && page.groupList) batch.groupList = page.groupList;
  if (page.groups?.length) batch.groupChanges = page.groups;
  return batch;
}
