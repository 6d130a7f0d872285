// What a run ingests, as one stream of batches whatever the trigger: a full read (listUsers),
// an incremental read (changes since the checkpoint, falling back to a full read by itself when
// the checkpoint expired or was taken for another query; after a mapping change, a replay of the
// shadow first), or one user. The engine's pipeline
// (engine.ts) writes each batch into the shadow and projects what changed; nothing else in a
// run depends on the trigger.
import { createHash } from 'node:crypto';
import type { ChangePage, GroupChange, SourceGroup, SourceQuery, SourceRemoval, SourceUser } from '../core/types.ts';
import { IdsyncError, errorText } from '../core/errors.ts';
import { reactionTo } from '../core/error-policy.ts';
import type { ShadowRepo, ShadowState, TombstoneReason } from '../store/shadow.ts';
import { keysetPages } from '../store/keyset.ts';
import { noteRecordFingerprint, userOf } from './shadow-record.ts';
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
  /** Last batch of a round from a checkpoint, from sources that take it: every group id in scope (ChangePage.groupCensus). */
  groupCensus?: string[];
  /** Users replayed from the shadow (shadowReplay), not read: projected all, not counted as read, not marked returned. */
  replayed?: true;
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
  /** The query its reads use (queryKeyOf), when not the runtime's: a checkpoint's that reads more. */
  readonly readQueryKey?: string;
  /** Set for incremental reads: what is stored with the checkpoint (its key, and for a store from before the split, the rest). */
  readonly checkpointState?: Partial<ShadowState>;
  /**
   * The read projects every live user from the shadow (a replay after a mapping change) under
   * these mappings (mappingsKeyOf): the removal guards and link digests are loaded as for an
   * exhaustive read, and once the run is done the key is stored as projected in full. Not a
   * complete read: nobody is marked returned or swept.
   */
  readonly projectsEveryone?: string;
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
 * What the checkpoint of a connector is valid for, and what the shadow's records were read with:
 * the query, as canonical JSON (a mapping that now needs other attributes, groups or manager data
 * must not continue a delta taken without them, nor be projected from records read without them;
 * see queryCovers). The mappings are not part of it: a changed rule is projected from the shadow
 * (shadowReplay).
 */
export function queryKeyOf(runtime: Runtime): string {
  return JSON.stringify(queryOf(runtime));
}

/**
 * Whether what was read with query `stored` (a queryKeyOf) holds everything query `wanted` needs:
 * every attribute, groups and the manager when wanted, and the same required groups (another
 * scope is another set of users). A mapping that reads less than before needs no new read.
 */
export function queryCovers(stored: string | null, wanted: string): boolean {
  if (stored === null) return false;
  if (stored === wanted) return true;
  let had: ReturnType<typeof queryOf>;
  try {
    had = JSON.parse(stored) as ReturnType<typeof queryOf>;
  } catch {
    return false; // a key of another form (a hash from before): not comparable
  }
  const want = JSON.parse(wanted) as ReturnType<typeof queryOf>;
  if (!Array.isArray(had?.attributes)) return false;
  const attributes = new Set(had.attributes);
  return want.attributes.every((a) => attributes.has(a)) && (!want.groups || had.groups === true) && (!want.manager || had.manager === true) && JSON.stringify([...(had.requiredGroups ?? [])].sort()) === JSON.stringify([...want.requiredGroups].sort());
}

/** What the projection of every user depends on beside the records: each target's mapping. */
export function mappingsKeyOf(runtime: Runtime): string {
  return createHash('sha1').update(JSON.stringify(runtime.targets.map((t) => [t.config.id, t.mappingHash]))).digest('base64url');
}

function queryOf(runtime: Runtime) {
  return { attributes: [...runtime.query.attributes].sort(), groups: runtime.query.groups, manager: runtime.query.manager, requiredGroups: runtime.requiredGroups };
}

/** The checkpoint key of stores from before the split (query and mappings in one hash): continued as is. */
function legacyCheckpointKeyOf(runtime: Runtime): string {
  return createHash('sha1').update(JSON.stringify([queryOf(runtime), runtime.targets.map((t) => t.mappingHash)])).digest('base64url');
}

/** Live shadow rows per page of a replay: bounded, so a replay of 100k users holds one page. */
export const REPLAY_PAGE = 500;

/**
 * The shadow replayed: every live record of the connector (no tombstone), page by page in
 * source-id order from the store, as users for the projection. Not a read of the directory: its
 * batches are `replayed` (projected all, not counted as read, nobody marked returned), never
 * `complete` (nobody is tombstoned for not being in it) and carry no checkpoint. Managers resolve
 * through the shadow as for any batch (manager-view.ts), the replayed page included.
 */
export async function* shadowReplay(shadow: ShadowRepo, connectorId: string, counted: { users: number }, signal?: AbortSignal, page = REPLAY_PAGE): AsyncIterable<IngestBatch> {
  // A cancelled replay reads no further page.
  const live = (after: string) => (signal?.aborted ? Promise.resolve([]) : shadow.liveRecords(connectorId, after, page));
  for await (const rows of keysetPages('', page, live, (r) => r.sourceId)) {
    const users = rows.map((r) => {
      const u = userOf(r.sourceId, r.record!);
      noteRecordFingerprint(u, r.fingerprint);
      return u;
    });
    counted.users += users.length;
    yield { users, removed: [], replayed: true };
  }
}

/**
 * An incremental read: the source's changes since the stored checkpoint. Without a checkpoint
 * (or one taken for another query) it is a seeding round from none, which returns everyone. When
 * only the mappings changed since everyone was last projected (and the shadow's records were read
 * with this query), everyone is projected from the shadow first (shadowReplay), then the changes
 * are read from the checkpoint as usual. When the provider no longer accepts the checkpoint, it
 * reads in full (a seeding round) by itself. Each case is said in `notice`.
 */
export async function incrementalRead(runtime: Runtime, shadow: ShadowRepo, signal?: AbortSignal): Promise<Reader> {
  const source = runtime.source;
  if (!source.changes) {
    throw new IdsyncError('CONFIG', `the source of connector ${runtime.connector.id} (${source.kind}) has no change feed; it cannot be synced incrementally`, {
      hint: 'run a full sync instead, or switch schedule.incremental off for this connector',
    });
  }
  const queryKey = queryKeyOf(runtime);
  const mappingsKey = mappingsKeyOf(runtime);
  const state = await shadow.state(runtime.connector.id);
  // A store from before the split: its key matching the legacy hash says both are unchanged.
  const legacy = state.checkpointKey !== null && state.checkpointKey === legacyCheckpointKeyOf(runtime);
  const checkpointState: Partial<ShadowState> = legacy ? { checkpointKey: queryKey, recordsQueryKey: queryKey, projectedKey: mappingsKey } : { checkpointKey: queryKey };
  let from: string | null = state.checkpoint;
  let notice: string | undefined;
  let replay = false;
  if (from && !legacy && !queryCovers(state.checkpointKey, queryKey)) {
    from = null;
    notice = 'mapping changed and needs other attributes, groups or manager data than the users were read with: every user was read again from the identity provider';
  } else if (from && !legacy && state.projectedKey !== mappingsKey) {
    if (queryCovers(state.recordsQueryKey, queryKey)) replay = true;
    else {
      // The shadow holds records read with another query since its last complete read (a single-user sync, a full sync with other rules).
      from = null;
      notice = 'mapping changed, and the users\' stored records were not all read with what it needs: every user was read again from the identity provider';
    }
  }
  // A checkpoint taken with a query that reads more than this one needs goes on with that query
  // (the provider's checkpoint is valid for it alone; the records keep what they had).
  const readQueryKey = from && !legacy && state.checkpointKey !== null && state.checkpointKey !== queryKey ? state.checkpointKey : queryKey;
  const read = JSON.parse(readQueryKey) as ReturnType<typeof queryOf>;
  const query = { ...runtime.query, attributes: read.attributes, groups: read.groups, manager: read.manager, signal } satisfies SourceQuery;
  if (!legacy) checkpointState.checkpointKey = readQueryKey;
  const counted = { users: 0 };
  const reader: Reader & { exhaustive: boolean } = {
    exhaustive: from === null,
    projectsEveryone: replay ? mappingsKey : undefined,
    checkpointKey: readQueryKey,
    readQueryKey,
    checkpointState,
    notice,
    async *batches() {
      if (replay) {
        yield* shadowReplay(shadow, runtime.connector.id, counted, signal);
        reader.notice = `mapping changed: ${counted.users} users projected from the shadow, no directory read`;
      }
      try {
        // After a replay, a delta page never says `complete`: the replay marked nobody returned.
        for await (const page of prefetch(source.changes!(from, query))) yield batchOf(page, from !== null);
      } catch (e) {
        if (from === null || reactionTo(e, 'source') !== 'full-read') throw e;
        // The batches already ingested stay applied; the seeding round re-reads them unchanged.
        reader.notice = joinText(reader.notice, `the identity provider no longer accepts the checkpoint (${errorText(e)}): read in full instead`);
        reader.exhaustive = true;
        from = null;
        for await (const page of prefetch(source.changes!(null, query))) yield batchOf(page, false);
      }
    },
  };
  return reader;
}

function joinText(a: string | undefined, b: string): string {
  return a ? `${a}; ${b}` : b;
}

/** A page of the feed; `fromCheckpoint`: changes since a checkpoint, never a complete listing. */
function batchOf(page: ChangePage, fromCheckpoint: boolean): IngestBatch {
  const complete = !fromCheckpoint && page.complete === true;
  const batch: IngestBatch = { users: page.users, removed: page.removed, complete, checkpoint: page.checkpoint };
  if (complete && page.groupList) batch.groupList = page.groupList;
  if (page.groups?.length) batch.groupChanges = page.groups;
  // A seeding round's complete listing has its group list (and the sweep) instead.
  if (fromCheckpoint && page.groupCensus) batch.groupCensus = page.groupCensus;
  return batch;
}
