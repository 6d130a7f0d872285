// The sync engine: one pipeline for full sync, single-user sync and simulation.
//
//   source pages ─▶ scope filter ─▶ mapper ─▶ planner/writer per target ─▶ journal ─▶ links
//
// Pages stream through (the next page is read while the current one is written), so memory
// stays flat whatever the directory size. Missing users are detected only after a complete
// read: a failed read fails the run and marks nobody missing.
import { testTarget } from '../targets/group-rules-check.ts';
import { hash } from 'node:crypto';
import type { ConnectorConfig } from '../config/schema.ts';
import type { AttributeInfo, SourceUser, UserHit } from '../core/types.ts';
import { IdsyncError, errorText } from '../core/errors.ts';
import type { Store } from '../store/index.ts';
import type { Link, LinkDigest } from '../store/links.ts';
import { HEARTBEAT_MS, type RunRecord } from '../store/runs.ts';
import { claimRun } from './run-claim.ts';
import type { ConnectorContext } from '../sources/registry.ts';
import type { MappedUser, MappingContext } from '../mapping/api.ts';
import type { ConnectionReport, SyncProgress, SyncRequest, SyncResult, UserSyncReport } from './api.ts';
import { buildRuntime, type Runtime, type TargetRuntime } from './runtime.ts';
import { Journal } from './journal.ts';
import { mapLimit, prefetch } from './concurrency.ts';
import { executeWrite, intentOf, prepareUserSync, type PendingWrite, type UserOutcome } from './user-sync.ts';
import { recoverIntents, type Unresolved } from './recovery.ts';
import { CircuitBreaker } from './circuit.ts';
import { exceedsSafety, judgeRead, safetyOf, type ReadVerdict, type UserDrop } from './read-guard.ts';
import { GroupRemovalGuard, type RemovalReview } from './group-removal-guard.ts';
import { finishGroupHolds, holdGroupRemovals, type GroupHoldRun } from './group-removal-hold.ts';
import { cleanupReasonOf, isDamaging } from './cleanup-policy.ts';
import { executeCleanups, planCleanups, type CleanupCandidate, type PlannedCleanup } from './cleanup-run.ts';
import { heldCleanup, holdCleanups, holdRemovals, withRestore, type EngineDeps, type HeldEntry } from './quarantine.ts';
import { DeactivationGuard, type DeactivationReview } from './deactivation-guard.ts';
import { approveDeactivations, deactivationVerdict } from './deactivation-approval.ts';
import { approveGroupRemovals, type HeldGroupRemoval } from './group-removal-approval.ts';
import { GROUP_REMOVAL } from '../store/quarantine.ts';
import type { QuarantineSummary } from '../store/runs.ts';
import type { ShadowRecord, ShadowState } from '../store/shadow.ts';
import { fullRead, incrementalRead, mappingsKeyOf, queryCovers, queryKeyOf, type IngestBatch, type Reader } from './ingest.ts';
import { pushRead } from './push-read.ts';
import { ShadowIngest, type Gone } from './shadow-ingest.ts';
import { SeenMarks } from './seen-marks.ts';
import { GroupIngest } from './group-ingest.ts';
import { ManagerCache, attachManagerViews } from './manager-view.ts';
import { BURST_WINDOW_MS, HELD_REMOVAL_STEPS, recentGroupRemovals, recentRemovals } from './cleanup-burst.ts';
import { noteRecordFingerprint, recordFingerprintOf, shadowFingerprint, userOf } from './shadow-record.ts';
import type { QuarantineUser } from '../store/quarantine.ts';
import { notFound as quarantineNotFound } from '../store/quarantine.ts';
import { USER_SYNC_WAIT_MS } from './run-claim.ts';
import type { CleanupReason } from '../config/cleanup-schema.ts';
import type { ApproveQuarantineRequest, ApproveQuarantineResult } from './api.ts';
import { DigestPreload } from './digest-preload.ts';

/** Users a resolver remembers in a run that writes: beyond, it forgets them and the links answer. */
const RESOLVER_LIMIT = 50_000;

/** Per-target knowledge gathered during a run: who is linked under which username. */
class UsernameResolver {
  /**
   * Users processed (or prefilled) in this run: their username, null when they have none. Every
   * user recorded is "processed"; no second set says so (one Map operation per user, not two).
   */
  private readonly known = new Map<string, string | null>();
  /** At the end of a run everything not known is final: not synced. */
  final = false;

  /**
   * `bounded`: a run that writes stores each page's links before the next page, so what this
   * forgets past RESOLVER_LIMIT is read again from the links (the page's digests, prefill); a
   * dry run writes no link, so it remembers everyone.
   */
  constructor(private readonly bounded: boolean) {}

  /**
   * Before a page of `users`: forgets now if the page could reach the limit (each user and its
   * manager recorded), so that nothing `knows` answered for the page is forgotten within it.
   */
  roomFor(users: number): void {
    if (this.bounded && this.known.size + 2 * users >= RESOLVER_LIMIT) this.known.clear();
  }

  record(sourceId: string, username: string | null): void {
    if (this.bounded && this.known.size >= RESOLVER_LIMIT) {
      // Forgotten: a user processed here without a link reads as "not known yet" and waits for the end of the read, where it is final.
      this.known.clear();
    }
    this.known.set(sourceId, username);
  }

  async prefill(links: Store['links'], connectorId: string, targetId: string, ids: string[]): Promise<void> {
    const unknown = [...new Set(ids)].filter((id) => !this.known.has(id));
    if (unknown.length === 0) return;
    const found = await links.getMany(connectorId, targetId, unknown);
    for (const id of unknown) {
      const l = found.get(id);
      if (l) this.known.set(id, l.targetUsername);
    }
  }

  /** Link digests of the page being projected and of its users' managers (full runs). */
  digests?: Map<string, LinkDigest>;

  /** Whether `lookup` answers for this user without the page's digests (processed earlier in the run). */
  knows(sourceId: string): boolean {
    return this.known.has(sourceId);
  }

  lookup(sourceId: string): string | null | undefined {
    // One look-up: a known user's value is a string or null, never undefined.
    const known = this.known.get(sourceId);
    if (known !== undefined) return known;
    const digest = this.digests?.get(sourceId);
    if (digest) return digest.username;
    return this.final ? null : undefined;
  }
}

interface RunContext {
  runtime: Runtime;
  run: RunRecord;
  journal: Journal;
  req: SyncRequest;
  resolvers: Map<string, UsernameResolver>;
  progress: SyncProgress;
  /** Per target: users waiting for a reference (e.g. a manager created later in the run). */
  deferred: Map<string, Map<string, string | null>>;
  /**
   * The deferred users themselves, in a dry run only: a run that writes re-reads them from the
   * shadow at the end of the read (ingested before they were projected), so an initial sync of
   * a large directory holds ids of the users waiting for their managers, not their records.
   */
  deferredUsers: Map<string, SourceUser>;
  /** Per target, every run kind: group removals held until the read is over, and over the threshold quarantined (group-removal-guard.ts). */
  removals: Map<string, GroupRemovalGuard>;
  /** Per target: users a dead run left unknown that could not be re-read (see recovery.ts). */
  unresolved: Unresolved;
  /** Per target: its circuit breaker. */
  breakers: Map<string, CircuitBreaker>;
  /** The read returns every user (a full read, a seeding round): removal guards are loaded, who it returns is marked (seen-marks.ts). */
  exhaustive: boolean;
  /** The run projects every user (an exhaustive read, or a replay of the shadow): removal guards and link digests are loaded. */
  projectsEveryone: boolean;
  /** Pending shadow rows projected in this run, to settle once applied. */
  owed: Set<string>;
  /** Owed ids not looked at by a settle yet, and those found settleable but not settled yet (see settle). */
  owedFresh: string[];
  settleable: Set<string>;
  /** Users not applied in this run (failed, circuit open): their rows stay pending. */
  unsettled: Set<string>;
  /** Single-user runs: the report for the UI. */
  report?: UserSyncReport;
  /** Managers' shadow attributes read in this run (manager-view.ts). */
  managers: ManagerCache;
  /** What the run says beside its status (see Reader.notice). */
  notice?: string;
  /** Gone users of this run (tombstones, out of scope, a complete read's sweep), cleaned up at its end. */
  gone: Map<string, Gone>;
  /** The cleanup has run (or was handed to a quarantine): gone users' shadow rows may settle. */
  cleanedUp: boolean;
  /** The run held its cleanup back: the quarantine it stored (absent in a dry run). */
  quarantine?: QuarantineSummary;
  /** The run held back its cleanup (a quarantine, a read not trusted whose users are held already, or a census of groups not trusted). */
  cleanupHeld: boolean;
  /**
   * Users whose manager key (e-mail, DN, username) named nobody when they were read: held to the
   * end of the read like users waiting for a manager's id (their manager may be on a later page),
   * then their manager view is attached again (resolvePending). One that still names nobody is
   * written with no manager.
   */
  keyWaiting: Set<string>;
  /** Deactivations (user.active true → false) waiting for the deletion safety's decision (deactivation-guard.ts). */
  deactivations: DeactivationGuard;
  /** An exhaustive read's shadow and link digests, loaded up front (digest-preload.ts). */
  preload?: DigestPreload;
}

export class SyncEngine {
  private readonly ctx: ConnectorContext;

  constructor(
    private readonly store: Store,
    ctx: ConnectorContext = {},
    /** The clock and the quarantine hook (see EngineDeps). */
    private readonly deps: EngineDeps = {},
  ) {
    // Sources that answer from what was pushed to idsync (scim) read the store.
    this.ctx = { ...ctx, store };
  }

  /** Now, from the injected clock (tests move it to see a deletion fall due). */
  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }


  async run(req: SyncRequest): Promise<SyncResult> {
    const connector = req.connector;
    const run = await claimRun(this.store.runs, req);
    const runId = run.id;
    const journal = new Journal(this.store.runs, run.id);
    // Other idsync processes sharing the store see the run alive (and its counts) by this.
    const heartbeat = setInterval(() => {
      this.store.runs.heartbeat(runId, journal.counts).catch(() => undefined);
    }, HEARTBEAT_MS);
    heartbeat.unref();
    const progress: SyncProgress = { phase: 'connecting', read: 0, planned: 0, written: 0, failed: 0 };
    let runtime: Runtime | undefined;
    let rc: RunContext | undefined;
    let status: RunRecord['status'] = 'succeeded';
    let error: string | null = null;
    // What a source tells the run while it reads (e.g. OneLogin waiting for its hourly limit) is part of the run's notice.
    const sourceNotices: string[] = [];
    const tell = (m: string) => {
      if (sourceNotices.length < 20) sourceNotices.push(m);
      this.ctx.notice?.(m);
    };
    try {
      runtime = await buildRuntime(connector, { ...this.ctx, notice: tell, storedSecret: await this.store.connectors.secretLookup(connector.id) });
      rc = { runtime, run, journal, req, resolvers: new Map(), progress, deferred: new Map(), deferredUsers: new Map(), removals: new Map(), unresolved: new Map(), breakers: new Map(), exhaustive: false, projectsEveryone: false, owed: new Set(), owedFresh: [], settleable: new Set(), unsettled: new Set(), managers: new ManagerCache(), gone: new Map(), cleanedUp: false, cleanupHeld: false, keyWaiting: new Set(), deactivations: new DeactivationGuard(await this.store.quarantines.held(connector.id)) };
      const groupHolds = await this.store.quarantines.heldGroups(connector.id);
      for (const t of runtime.targets) {
        rc.resolvers.set(t.config.id, new UsernameResolver(!req.dryRun));
        rc.breakers.set(t.config.id, new CircuitBreaker(t.config.id));
        // The census of managed members is read only if some removal count calls for it.
        // A burst in slices counts as one (cleanup-burst.ts); a dry run judges itself alone, as the cleanup's threshold does.
        const recent = () => (req.dryRun ? Promise.resolve(new Map<string, number>()) : recentGroupRemovals(this.store.runs, connector.id, t.config.id, new Date(Date.now() - BURST_WINDOW_MS), run.id));
        rc.removals.set(t.config.id, new GroupRemovalGuard(t.config.id, () => this.store.links.groupCensus(connector.id, t.config.id), safetyOf(connector), groupHolds.get(t.config.id), recent));
      }
      // Whatever the trigger: users a dead run left unknown are re-read first (recovery.ts).
      rc.unresolved = await recoverIntents(this.store, runtime, rc.run.id, (t) => breakerOf(rc!, t));
      // The one thing the trigger decides: what is ingested (ingest.ts). The rest is one pipeline.
      if (req.kind === 'cleanup') throw new IdsyncError('INTERNAL', 'a cleanup run is started by approving a quarantine, not as a sync');
      const reader = req.kind === 'push' ? pushRead(req) : req.kind === 'full' ? fullRead(runtime, req.signal) : req.kind === 'incremental' ? await incrementalRead(runtime, this.store.shadow, req.signal) : await this.singleUserRead(rc);
      await this.pipeline(rc, reader);
      // A cleanup held for an administrator is work not done: the run says so (and its notice why).
      if (journal.counts.failed > 0 || rc.cleanupHeld) status = 'partial';
    } catch (e) {
      status = 'failed';
      error = errorText(e);
    } finally {
      await runtime?.close();
      try {
        await journal.flush();
      } catch (e) {
        status = 'failed';
        error ??= `the run's results could not be saved: ${errorText(e)}`;
      }
      clearInterval(heartbeat);
    }
    progress.phase = 'done';
    req.onProgress?.({ ...progress });
    const finishedAt = new Date().toISOString();
    const notice = joinNotice(rc?.notice, sourceNotices.length > 0 ? sourceNotices.join('; ') : undefined) ?? null;
    const quarantine = rc?.quarantine ?? null;
    await this.store.runs.update(run.id, { status, error, finishedAt, counts: journal.counts, notice, quarantine });
    return { run: { ...run, status, error, finishedAt, counts: { ...journal.counts }, notice, quarantine }, user: rc?.report };
  }

  /**
   * Ingest, then project: each batch the reader brings goes into the shadow (only what changed is
   * written, as pending), and the projection maps, plans, guards, writes and journals the users
   * it owes: every user of a read that returns everyone (the link fingerprints keep the unchanged
   * ones cheap), else those that changed, the reports of managers whose record changed, and rows
   * an earlier run left pending. A complete read then tombstones who it left out (after the read
   * guard), and the checkpoint is stored once everything it covers is applied or durably pending.
   */
  private async pipeline(rc: RunContext, reader: Reader): Promise<void> {
    const { runtime, req } = rc;
    const connectorId = runtime.connector.id;
    const shadow = this.store.shadow;
    const write = !req.dryRun;
    const carried = new Set(write ? await shadow.pendingIds(connectorId) : []);
    const marks = new SeenMarks(shadow, this.store.links, connectorId, rc.run.id);
    const ingest = new ShadowIngest(shadow, connectorId, { marks, write, outOfScope: (u) => this.outOfScope(runtime, u), carried });
    const safety = safetyOf(runtime.connector);
    const startEveryone = async () => {
      rc.projectsEveryone = true;
      // Everyone is projected: the unchanged users are counted, not listed (journal.ts).
      rc.journal.listsUnchanged = false;
    };
    const startExhaustive = async () => {
      // Who the read returns is marked by the run, one bit per shadow row (seen-marks.ts): store marks a dead run left go first.
      if (!ingest.exhaustive) await marks.start();
      // Loading while the source prepares its first page (not awaited: the first lookup waits for it).
      rc.preload ??= new DigestPreload(this.store, connectorId, runtime.targets.map((t) => t.config.id));
      ingest.preload = rc.preload;
      rc.exhaustive = true;
      ingest.exhaustive = true;
      await startEveryone();
    };
    try {
      // A replay of the shadow (a mapping change) projects everyone, guarded as a full read is, but marks nobody returned.
      if (reader.projectsEveryone) await startEveryone();
      await this.pipelineRead(rc, reader, ingest, marks, carried, startExhaustive, safety);
    } finally {
      // The run's marks of who was returned are scratch: they go with the run, whatever its end.
      if (ingest.exhaustive) await marks.end().catch(() => undefined);
      rc.preload?.close();
    }
  }

  /** The read and everything after it (see pipeline), inside the run's scratch marks. */
  private async pipelineRead(rc: RunContext, reader: Reader, ingest: ShadowIngest, marks: SeenMarks, carried: Set<string>, startExhaustive: () => Promise<void>, safety: { maxUsers: number; maxPercent: number }): Promise<void> {
    const { runtime, req } = rc;
    const connectorId = runtime.connector.id;
    const shadow = this.store.shadow;
    const write = !req.dryRun;
    if (reader.exhaustive) await startExhaustive();
    const source = runtime.source;
    const groups = new GroupIngest(shadow, connectorId, write, source.groupMemberIds ? (id) => source.groupMemberIds!(id) : undefined);
    const queryKey = reader.readQueryKey ?? queryKeyOf(runtime);
    // Records read with another query than the shadow's: the shadow then holds, for sure, only what
    // both read (this query, when it reads less), or nothing known until the next complete read.
    if (write && req.kind !== 'push') {
      const before = await shadow.state(connectorId);
      if (before.recordsQueryKey !== null && before.recordsQueryKey !== queryKey) await shadow.setState(connectorId, { recordsQueryKey: queryCovers(before.recordsQueryKey, queryKey) ? queryKey : null });
    }
    const changedRecords: string[] = [];
    /** A batch into the shadow, and what changed in it projected (the read's pages and the members a group change rewrote alike). */
    const ingestAndProject = async (batch: IngestBatch, projectAll: boolean) => {
      const got = await ingest.ingest(batch, projectAll);
      rc.managers.forget(got.written);
      if (runtime.query.manager) changedRecords.push(...got.changedRecords);
      await this.project(rc, got.project, got.gone, got.owed, got.records);
    };
    let complete = false;
    let checkpoint: string | undefined;
    rc.progress.phase = 'reading';
    for await (const batch of reader.batches()) {
      if (req.signal?.aborted) throw new IdsyncError('INTERNAL', 'the run was cancelled');
      // An incremental read that fell back to a full read: from here on it returns everyone.
      if (reader.exhaustive && !rc.exhaustive) await startExhaustive();
      if (batch.complete) complete = true;
      if (batch.checkpoint !== undefined) checkpoint = batch.checkpoint;
      // Replayed from the shadow: projected, not read from the identity provider.
      if (!batch.replayed) {
        rc.journal.counts.read += batch.users.length;
        rc.progress.read += batch.users.length;
      }
      await ingestAndProject(batch, batch.replayed ?? reader.projectAll ?? rc.exhaustive);
      if (batch.groupList) await groups.recordListing(batch.groupList);
      if (batch.groupChanges) groups.note(batch.groupChanges);
      // The round's census of groups (last batch): groups it no longer lists leave their members below, as deletions do.
      if (batch.groupCensus) {
        const refused = await groups.noteCensus(batch.groupCensus, safety);
        if (refused) {
          rc.notice = joinNotice(rc.notice, refused);
          // Removals held back for a read not trusted: work not done, so the run ends partial and the administrator looks.
          rc.cleanupHeld = true;
        }
      }
      req.onProgress?.({ ...rc.progress });
      // Every target given up: reading on would only journal users nobody writes.
      if (runtime.targets.every((t) => breakerOf(rc, t).open)) failForStoppedTargets(rc);
    }
    rc.notice = joinNotice(rc.notice, reader.notice);
    // Groups the feed says were renamed or deleted: their members' records change in the shadow
    // and are projected now, like any changed record (group-ingest.ts).
    if (groups.hasChanges) {
      for await (const users of groups.apply((m) => (rc.notice = joinNotice(rc.notice, m)))) await ingestAndProject({ users, removed: [] }, false);
    }
    if (rc.exhaustive && reader.requireComplete && !complete) {
      // Only a read the source confirmed complete may tell who is gone.
      throw new IdsyncError('TRANSIENT', `the identity provider's listing ended without confirming that it returned every user (${await marks.count()} read); nobody is marked missing`, { hint: 'run the sync again; if this persists, the source connector has a bug' });
    }
    // Reports of managers whose record changed (their manager.* values), and rows an earlier run left pending.
    const reports = changedRecords.length > 0 ? await shadow.reportsOf(connectorId, changedRecords) : [];
    // Quietly: a report whose values the change did not touch (or that this read already projected
    // with the new record) is not journaled again. Rows left pending are owed in full.
    await this.projectFromShadow(rc, reports.filter((id) => !carried.has(id)), true);
    await this.projectFromShadow(rc, [...carried]);
    // Everything read is reviewed: group removals over the safety threshold are held in a
    // quarantine, the users waiting for the decision are then written once (group-removal-hold.ts).
    const groupRun: GroupHoldRun = { store: this.store, connectorId, runId: rc.run.id, dryRun: !write, targets: runtime.targets, guards: rc.removals, hold: this.holdContext(rc) };
    const groupHold = await holdGroupRemovals(groupRun);
    if (groupHold.held) rc.cleanupHeld = true;
    await this.resolvePending(rc, rc.report);
    const held = await this.store.quarantines.held(connectorId);
    let trusted = true;
    /** Every live user was projected under the current mappings (a trusted complete read, a finished replay). */
    let everyoneProjected = !!reader.projectsEveryone;
    if (rc.exhaustive && complete) {
      // A complete read that left out many linked users is a bad read, not a change (read-guard.ts):
      // nobody is swept; the cleanup it would cause is quarantined for an administrator.
      // Linked users (from the store, page by page) against the run's marks of who was returned (seen-marks.ts).
      const drops: UserDrop[] = [];
      for (const t of runtime.targets) drops.push({ targetId: t.config.id, ...(await marks.readDrop(t.config.id)) });
      const verdict = judgeRead(drops, await marks.count(), safety);
      rc.progress.phase = 'checking-missing';
      req.onProgress?.({ ...rc.progress });
      if (verdict) {
        trusted = false;
        await this.quarantineRead(rc, verdict, held, marks);
      } else {
        const gone = await ingest.sweep(runtime.targets.map((t) => t.config.id));
        for (let i = 0; i < gone.length; i += 500) {
          const part = gone.slice(i, i + 500);
          await this.project(rc, [], part, write ? part.map((g) => g.sourceId) : [], new Map());
        }
        await groups.sweep();
        if (write) await shadow.setState(connectorId, { completeReadAt: new Date().toISOString() });
        everyoneProjected = true;
      }
    }
    // Cleanups (a trusted read's) and the deactivations the mapping planned: one threshold, decided once.
    await this.cleanup(rc, held, safety, trusted);
    rc.cleanedUp = true;
    await finishGroupHolds(groupRun, groupHold);
    await this.settle(rc, true);
    // Everything the read covered is applied, or pending in the shadow (failed users): the feed may go on from here.
    const state: Partial<ShadowState> = write && reader.checkpointKey && checkpoint !== undefined ? { ...reader.checkpointState, checkpoint, checkpointKey: reader.checkpointKey } : {};
    // Every user was projected under these mappings: a later run replays the shadow only after another change.
    // Users not applied (failed) are owed to the next run, their rows pending though their records did not change.
    // A target given up (circuit open) left many unapplied: the next run replays again instead.
    if (write && everyoneProjected && !runtime.targets.some((t) => breakerOf(rc, t).open)) {
      await shadow.markPending(connectorId, [...rc.unsettled].filter((id) => !rc.owed.has(id)));
      state.projectedKey = mappingsKeyOf(runtime);
      if (rc.exhaustive && complete) state.recordsQueryKey = queryKey;
    }
    if (Object.keys(state).length > 0) await shadow.setState(connectorId, state);
    failForStoppedTargets(rc);
  }

  /** Projects a batch: the users in scope, then the gone ones; settles what the batch owed once applied. */
  private async project(rc: RunContext, users: SourceUser[], gone: Gone[], owed: string[], records: ReadonlyMap<string, ShadowRecord>, quiet = false): Promise<void> {
    for (const id of owed) {
      if (rc.owed.has(id)) continue;
      rc.owed.add(id);
      rc.owedFresh.push(id);
    }
    if (users.length > 0) {
      const unresolved = await attachManagerViews(this.store.shadow, rc.runtime.connector.id, users, records, rc.runtime.managerFields, rc.managers);
      for (const id of unresolved) rc.keyWaiting.add(id);
      await this.processUsers(rc, users, rc.report, undefined, quiet);
    }
    if (gone.length > 0) await this.projectGone(rc, gone);
    await this.settle(rc, false);
  }

  /** Projects users by id from their shadow records (reports of a changed manager, rows left pending). */
  private async projectFromShadow(rc: RunContext, ids: string[], quiet = false): Promise<void> {
    for (let i = 0; i < ids.length; i += 200) {
      const part = ids.slice(i, i + 200);
      const rows = await this.store.shadow.getMany(rc.runtime.connector.id, part);
      const users: SourceUser[] = [];
      const gone: Gone[] = [];
      for (const r of rows.values()) {
        if (r.tombstone) gone.push({ sourceId: r.sourceId, reason: r.tombstone });
        else if (r.record) {
          const u = userOf(r.sourceId, r.record);
          noteRecordFingerprint(u, r.fingerprint);
          users.push(u);
        }
      }
      await this.project(rc, users, gone, rc.req.dryRun ? [] : [...rows.values()].filter((r) => r.pending).map((r) => r.sourceId), new Map(), quiet);
    }
  }

  /** Clears the pending mark of owed rows now applied (not failed, not waiting, not left out by an open circuit). */
  private async settle(rc: RunContext, final: boolean): Promise<void> {
    if (rc.owed.size === 0) return;
    const deferred = [...rc.deferred.values()];
    const waiting = (id: string) => deferred.some((m) => m.has(id)) || rc.deactivations.isWaiting(id);
    // A gone user's row settles once the cleanup has run (or handed it to a quarantine).
    const settleable = (id: string) => !rc.unsettled.has(id) && (final || !waiting(id)) && (rc.cleanedUp || !rc.gone.has(id));
    if (!final) {
      // Before the end of the run only ids owed since the last look can be settleable: one that
      // was not (failed, waiting for its manager, gone) stays so until the end of the run, when
      // every owed id is looked at again. Looking at every owed id on every page instead cost
      // O(owed) per page, and an initial sync owes every user waiting for its manager to the end.
      for (const id of rc.owedFresh) if (settleable(id)) rc.settleable.add(id);
      rc.owedFresh = [];
      if (rc.settleable.size < 200 && rc.owed.size < 5000) return;
    }
    // Looked at again: a user may have failed or been deferred since it was found settleable.
    const done = (final ? [...rc.owed] : [...rc.settleable]).filter(settleable);
    rc.settleable.clear();
    if (final) rc.owedFresh = [];
    await this.store.shadow.settle(rc.runtime.connector.id, done);
    for (const id of done) rc.owed.delete(id);
  }

  /**
   * Gone users (tombstones, users out of scope, a complete read's sweep) are collected; the
   * cleanup at the end of the run decides for all of them at once (cleanup()), so that a cleanup
   * too large for the safety threshold is quarantined before any of it is done.
   */
  private async projectGone(rc: RunContext, gone: Gone[]): Promise<void> {
    for (const g of gone) rc.gone.set(g.sourceId, g);
  }

  /**
   * The cleanup of the run's gone users and of deletions now due, per target, through the one
   * policy (cleanup-policy.ts) and the normal write path (cleanup-run.ts). Users held by an open
   * quarantine are left alone. When the accounts it would change exceed the connector's safety
   * threshold for any target, none of them is changed: they are quarantined.
   */
  private async cleanup(rc: RunContext, held: Map<string, Set<string>>, safety: { maxUsers: number; maxPercent: number }, trusted = true): Promise<void> {
    const { runtime } = rc;
    const connectorId = runtime.connector.id;
    const now = this.now();
    const planned: Array<[TargetRuntime, PlannedCleanup[]]> = [];
    for (const t of trusted ? runtime.targets : []) {
      if (breakerOf(rc, t).open) {
        for (const id of rc.gone.keys()) rc.unsettled.add(id); // cleaned up by a later run
        continue;
      }
      const holding = held.get(t.config.id);
      const links = rc.gone.size > 0 ? await this.store.links.getMany(connectorId, t.config.id, [...rc.gone.keys()]) : new Map<string, Link>();
      const candidates: CleanupCandidate[] = [];
      for (const g of rc.gone.values()) {
        const l = links.get(g.sourceId);
        if (!l) continue;
        if (holding?.has(g.sourceId)) {
          await rc.journal.add({ sourceId: l.sourceId, label: l.label, targetId: t.config.id, operation: 'quarantined', error: `${goneText(g, '')}held in an open quarantine: nothing is done until an administrator approves or rejects it`, details: { reason: g.reason } });
          continue;
        }
        candidates.push({ link: l, reason: cleanupReasonOf(g.reason), detail: `${GONE_TEXT[g.reason]}${g.detail ? ` (${g.detail})` : ''}`, tombstone: g.reason });
      }
      // Deletions that fell due (disabled N days ago), for users still gone: the shadow says so.
      if (rc.req.kind !== 'user') {
        const due = (await this.store.links.dueForDeletion(connectorId, t.config.id, now.toISOString())).filter((l) => !rc.gone.has(l.sourceId) && !holding?.has(l.sourceId));
        const rows = due.length ? await this.store.shadow.getMany(connectorId, due.map((l) => l.sourceId)) : new Map();
        for (const l of due) {
          const row = rows.get(l.sourceId);
          // Back in the provider (or never in the shadow): its projection restores it, not this.
          if (row?.tombstone) candidates.push({ link: l, reason: l.cleanup?.reason ?? cleanupReasonOf(row.tombstone), detail: GONE_TEXT[row.tombstone as Gone['reason']], tombstone: row.tombstone });
        }
      }
      if (candidates.length) planned.push([t, await planCleanups(t, candidates, now)]);
    }
    // The threshold: accounts removed in one target (the cleanup's and the mapping's deactivations), against its linked users.
    const over: string[] = [];
    let anyDeactivation = false;
    // Removals held by open quarantines of the window count too (their quarantine's time is the engine's clock, as it was stored);
    // read once, and only by a run that removes something.
    let heldOpen: Promise<Map<string, number>> | undefined;
    const heldIn = async (targetId: string) => (rc.req.dryRun ? 0 : ((await (heldOpen ??= this.store.quarantines.heldRemovalsSince(connectorId, new Date(now.getTime() - BURST_WINDOW_MS).toISOString(), HELD_REMOVAL_STEPS))).get(targetId) ?? 0));
    for (const t of runtime.targets) {
      const plans = planned.find(([x]) => x === t)?.[1] ?? [];
      const cleaning = plans.filter((p) => isDamaging(p.decision.step)).length;
      const deactivating = breakerOf(rc, t).open ? 0 : rc.deactivations.waitingIn(t.config.id).length;
      const now_ = cleaning + deactivating;
      if (now_ === 0) continue;
      if (deactivating > 0) anyDeactivation = true;
      // A burst in slices (pushed DELETEs and PATCHes, incremental runs) counts as one: cleanup-burst.ts.
      const recent = rc.req.dryRun ? 0 : await recentRemovals(this.store.runs, connectorId, t.config.id, new Date(Date.now() - BURST_WINDOW_MS), rc.run.id);
      const held = await heldIn(t.config.id);
      const before = recent + held;
      const changing = now_ + before;
      if (changing <= safety.maxUsers) continue;
      const linked = await this.store.links.activeCount(connectorId, t.config.id);
      const parts = [...(cleaning > 0 && deactivating > 0 ? [plural(cleaning, 'cleanup')] : []), ...(deactivating > 0 ? [plural(deactivating, 'deactivation')] : [])];
      const thisRun = parts.length ? `${parts.join(' and ')} in this run` : `${now_} in this run`;
      const window = `${BURST_WINDOW_MS / 60_000} minutes`;
      const earlier = [...(recent > 0 ? [`${recent} by the connector's runs of the last ${window}`] : []), ...(held > 0 ? [`${held} held by its open quarantines of the last ${window}`] : [])];
      if (exceedsSafety(changing, linked, safety)) over.push(`${changing} of the ${linked} users linked in target '${t.config.id}'${earlier.length ? ` (${[thisRun, ...earlier].join(', ')})` : parts.length ? ` (${thisRun})` : ''}`);
    }
    if (over.length > 0) {
      const message = `the ${anyDeactivation ? 'account removals' : 'cleanup'} would change ${over.join(' and ')}, more than the safety threshold (${safety.maxUsers} users and ${safety.maxPercent}%) allows`;
      const entries: HeldEntry[] = planned.flatMap(([t, plans]) => plans.filter((p) => isDamaging(p.decision.step)).map((p) => heldCleanup(t, p)));
      for (const t of runtime.targets) {
        if (breakerOf(rc, t).open) continue;
        for (const { link } of rc.deactivations.waitingIn(t.config.id)) entries.push({ t, link, planned: 'deactivate', reason: 'deactivated', why: 'deactivated in the identity provider (user.active false)', journaled: false });
      }
      const summary = await holdRemovals(this.holdContext(rc), 'threshold', message, entries);
      rc.cleanupHeld = true;
      const why = `deactivation held back (threshold): ${message}; the account stays active until an administrator approves the quarantine${summary ? ` (idsync quarantine show ${summary.id})` : ' (simulated: no quarantine stored)'}`;
      for (const t of runtime.targets) rc.deactivations.decide(t.config.id, true, why, summary?.id);
      for (const [t, plans] of planned) await executeCleanups(this.cleanupContext(rc, now), t, plans.filter((p) => !isDamaging(p.decision.step)));
    } else {
      for (const t of runtime.targets) rc.deactivations.decide(t.config.id, false);
      for (const [t, plans] of planned) await executeCleanups(this.cleanupContext(rc, now), t, plans);
    }
    // The deactivations that waited are planned again, now decided: written, or held (their other changes written).
    for (const t of runtime.targets) {
      const users = rc.deactivations.release(t.config.id);
      for (let i = 0; i < users.length; i += 200) await this.processUsers(rc, users.slice(i, i + 200), rc.report, t);
    }
    // One of them now waiting for a reference (not expected: it was resolved before it waited) is not left behind.
    await this.resolvePending(rc, rc.report);
  }

  /**
   * A complete read that is not trusted: nobody is swept or cleaned up. The linked users it left
   * out (not already held by an open quarantine) are quarantined with the cleanup planned for
   * each; an administrator who knows the read was right approves it.
   */
  private async quarantineRead(rc: RunContext, verdict: ReadVerdict, held: Map<string, Set<string>>, marks: SeenMarks): Promise<void> {
    rc.cleanupHeld = true;
    const now = this.now();
    const connectorId = rc.runtime.connector.id;
    const entries: Array<{ t: TargetRuntime; plan: PlannedCleanup }> = [];
    for (const t of rc.runtime.targets) {
      // The linked users (not missing) the read did not return in scope, page by page from the store.
      for await (const page of marks.linkedNotReturned(t.config.id, 500)) {
        const ids = page.filter((id) => !held.get(t.config.id)?.has(id));
        if (ids.length === 0) continue;
        const links = await this.store.links.getMany(connectorId, t.config.id, ids);
        const outside = await marks.outsideOnly(ids);
        const shadowDigests = await this.store.shadow.digestsOf(connectorId, ids);
        const candidates: CleanupCandidate[] = [...links.values()].map((l) => {
          const tomb = shadowDigests.get(l.sourceId)?.tombstone;
          return { link: l, reason: outside.has(l.sourceId) ? 'outOfScope' : tomb ? cleanupReasonOf(tomb as Gone['reason']) : 'deleted' };
        });
        for (const plan of await planCleanups(t, candidates, now)) entries.push({ t, plan });
      }
    }
    if (entries.length === 0) {
      rc.notice = joinNotice(rc.notice, `${verdict.message}; the users it left out are already held in an open quarantine, so nothing was swept, disabled or deleted`);
      return;
    }
    await holdCleanups(this.holdContext(rc), verdict.reason, verdict.message, entries);
  }

  private holdContext(rc: RunContext) {
    return {
      store: this.store,
      journal: rc.journal,
      runId: rc.run.id,
      connectorId: rc.runtime.connector.id,
      dryRun: rc.req.dryRun ?? false,
      now: this.now(),
      onQuarantine: this.deps.onQuarantine,
      said: (notice: string, summary?: QuarantineSummary) => {
        rc.notice = joinNotice(rc.notice, notice);
        // A run that held both group removals and account removals links to the account removals' quarantine (its notice names both).
        if (summary && (!rc.quarantine || summary.reason !== 'group-removals')) rc.quarantine = summary;
      },
    };
  }

  private cleanupContext(rc: RunContext, now: Date) {
    return { store: this.store, runId: rc.run.id, journal: rc.journal, connectorId: rc.runtime.connector.id, dryRun: rc.req.dryRun ?? false, now, report: rc.report?.targets };
  }

  /**
   * The single-user read: the user named (or the linked user of that Atlassian username). A user
   * the provider no longer has, but the shadow or a link knows, is ingested as a tombstone.
   */
  private async singleUserRead(rc: RunContext): Promise<Reader> {
    const { runtime, req } = rc;
    const ref = (req.userRef ?? '').trim();
    if (!ref) throw new IdsyncError('CONFIG', 'no user given', { hint: 'name the user by UPN, mail, object id or Atlassian username' });
    rc.progress.phase = 'reading';
    let user = await runtime.source.getUser(ref, runtime.query);
    let knownLinks: Link[] = [];
    if (!user) {
      // Maybe the admin typed the Atlassian username of a linked user.
      knownLinks = (await this.store.links.search(runtime.connector.id, ref, 5)).filter(
        (l) => l.sourceId === ref || l.targetUsername?.toLowerCase() === ref.toLowerCase(),
      );
      if (knownLinks[0]) user = await runtime.source.getUser(knownLinks[0].sourceId, runtime.query);
    }
    if (!user) {
      const l = knownLinks[0];
      const known = l ? undefined : (await this.store.shadow.getMany(runtime.connector.id, [ref])).get(ref);
      const sourceId = l?.sourceId ?? known?.sourceId;
      if (!sourceId) {
        throw new IdsyncError('NOT_FOUND', `no user "${ref}" in the identity provider, and no linked Atlassian user of that name`, {
          hint: 'check the spelling; a UPN, mail address, object id or linked username works',
        });
      }
      rc.report = { found: false, sourceId, label: l?.label ?? undefined, mapped: {}, targets: [] };
      return oneBatch({ users: [], removed: [{ id: sourceId, reason: 'deleted' }] });
    }
    rc.report = { found: true, sourceId: user.id, label: userLabel(user), mapped: {}, targets: [] };
    const outside = this.outOfScope(runtime, user);
    if (outside) {
      rc.report.outOfScope = outside;
      await rc.journal.add({ sourceId: user.id, label: userLabel(user), targetId: null, operation: 'skipped', error: outside });
    }
    return oneBatch({ users: [user], removed: [] });
  }

  /** Why a user is not synced by this connector (the source's scope, then required groups); undefined when in scope. */
  private outOfScope(runtime: Runtime, user: SourceUser): string | undefined {
    if (user.outOfScope) return user.outOfScope;
    if (runtime.requiredGroups.length === 0) return undefined;
    const groups = new Set(user.groups ?? []);
    return runtime.requiredGroups.some((g) => groups.has(g)) ? undefined : `not a member of the required groups (${runtime.requiredGroups.join(', ')})`;
  }

  /**
   * Maps and syncs a batch of users into every target; journals one item per user and target.
   * A user whose mapping waits for a reference (a manager not seen yet) is deferred to the end
   * of the run, so every user is written once and a dry run shows exactly the real plan.
   */
  private async processUsers(rc: RunContext, users: SourceUser[], report?: UserSyncReport, only?: TargetRuntime, quiet = false): Promise<void> {
    const { runtime } = rc;
    const connectorId = runtime.connector.id;
    for (const t of only ? [only] : runtime.targets) {
      const breaker = breakerOf(rc, t);
      if (breaker.open) {
        for (const user of users) {
          rc.unsettled.add(user.id);
          rc.journal.record(notSyncedItem(breaker, user));
        }
        await rc.journal.flushIfFull();
        continue;
      }
      const resolver = rc.resolvers.get(t.config.id)!;
      const digests = await this.digestsFor(rc, t, users);
      if (t.resolvesUsernames) {
        const managerIds = users.map((u) => managerId(u)).filter((x): x is string => !!x && !digests?.has(x));
        await resolver.prefill(this.store.links, connectorId, t.config.id, managerIds);
      }

      // Fast path: a user whose source record and mapping are exactly as when it was last fully
      // synced is unchanged, known without reading its link, mapping or planning it.
      // By index: only the slow users' are kept (the link they write), the others are compared and dropped.
      const fingerprints: Array<string | undefined> = new Array(users.length);
      const outcomes: Array<UserOutcome | undefined> = new Array(users.length);
      const slow: number[] = [];
      const unknownHere = rc.unresolved.get(t.config.id);
      for (let i = 0; i < users.length; i++) {
        const user = users[i]!;
        // Its manager (named by a key) may still come in this read: decided at the end of it.
        if (rc.keyWaiting.size > 0 && rc.keyWaiting.has(user.id) && !resolver.final) {
          defer(rc, user, t.config.id);
          continue;
        }
        const fp = this.fingerprint(user, t, resolver);
        const digest = digests?.get(user.id);
        if (fp && digest && digest.fingerprint === fp && !digest.missing && !rc.req.reconcile && !unknownHere?.has(user.id)) {
          resolver.record(user.id, digest.username);
          // Quiet: a second look at a user this run already journaled (see pipeline).
          if (!quiet) outcomes[i] = { operation: 'unchanged', changes: [], matched: 'link', username: digest.username, wrote: false };
        } else {
          fingerprints[i] = fp;
          slow.push(i);
        }
      }

      const links = await this.store.links.getMany(connectorId, t.config.id, slow.map((i) => users[i]!.id));
      const mctx: MappingContext = { targetUsernameOf: (id) => resolver.lookup(id) };
      const dryRun = rc.req.dryRun ?? false;
      const unknown = rc.unresolved.get(t.config.id);
      const mappedValues = new Map<number, MappedUser['values']>();
      const writes: Array<{ i: number; write: PendingWrite }> = [];
      /** Users whose group removals the guard held back: synced with the groups kept, not in step, journaled `quarantined`. */
      const held = new Map<number, Extract<RemovalReview, { kind: 'held' }>>();
      /** Users whose deactivation the deletion safety held back: the rest of them is written, they are journaled `quarantined`. */
      const heldDeactivations = new Map<number, Extract<DeactivationReview, { kind: 'held' }>>();
      // Find and plan every user of the page (reads only), then record the page's intents in one
      // statement, then write: a crash at any point leaves no write without its intent.
      await mapLimit(slow, t.config.concurrency, async (i) => {
        const user = users[i]!;
        if (breaker.open) {
          outcomes[i] = notSynced(breaker, links.get(user.id));
          return;
        }
        const unresolvedReason = unknown?.get(user.id);
        if (unresolvedReason) {
          outcomes[i] = { operation: 'failed', changes: [], error: unresolvedReason, matched: 'link', username: links.get(user.id)?.targetUsername ?? null, wrote: false };
          return;
        }
        const evaluated = await t.mapping.evaluate(user, mctx);
        // Back after a cleanup: what idsync did (disabled, pseudonym) is undone along with the sync.
        const cleanupState = links.get(user.id)?.cleanup;
        let mapped = cleanupState ? withRestore(evaluated, cleanupState) : evaluated;
        if (mapped.pending.length > 0 && !resolver.final) {
          defer(rc, user, t.config.id);
          return;
        }
        // Group removals wait for the whole read (group-removal-guard.ts); a held one keeps the user unfinished.
        const review = rc.removals.get(t.config.id)?.review(user.id, links.get(user.id)?.managedGroups, mapped.values) ?? { kind: 'proceed' };
        if (review.kind === 'defer') return defer(rc, user, t.config.id);
        if (review.kind === 'held') held.set(i, review);
        // A deactivation is an account removal: it waits for the deletion safety (deactivation-guard.ts).
        const deactivation = rc.deactivations.review(t.config.id, user, links.get(user.id), mapped.values, mapped.flows);
        if (deactivation.kind === 'defer') return;
        if (deactivation.kind === 'held') {
          heldDeactivations.set(i, deactivation);
          mapped = { ...mapped, values: deactivation.values };
        }
        mappedValues.set(i, mapped.values);
        const prepared = await prepareUserSync({ connectorId, user, label: userLabel(user), target: t, link: links.get(user.id), mapped, dryRun, reconcile: rc.req.reconcile ?? false, links: this.store.links });
        if (prepared.write) {
          writes.push({ i, write: prepared.write });
          // Reports later in the page resolve this user's username as planned, as a dry run does;
          // the outcome of the write then records what the target confirmed.
          resolver.record(user.id, prepared.write.ref?.username ?? textOf(prepared.write.planned.effective['user.username']));
        } else outcomes[i] = observe(breaker, prepared.outcome);
      });
      if (writes.length > 0) {
        await this.store.intents.record(writes.map((w) => intentOf(w.write, rc.run.id)));
        await mapLimit(writes, t.config.concurrency, async ({ i, write }) => {
          // Not sent: the user is as before, and its intent can go.
          outcomes[i] = breaker.open ? { ...notSynced(breaker, write.input.link), confirmed: true } : observe(breaker, await executeWrite(write));
        });
      }
      for (const [i, h] of heldDeactivations) {
        const o = outcomes[i];
        if (!o) continue;
        // Journaled as held; what else the user's write changed is in its changes.
        const wroteElse = o.changes.length > 0 ? '; the user\'s other changes were written' : '';
        if (o.operation === 'failed') outcomes[i] = { ...o, error: `${o.error}; ${h.why}` };
        else if (o.operation === 'updated' || o.operation === 'unchanged') outcomes[i] = { ...o, operation: 'quarantined', error: `${h.why}${wroteElse}`, details: { ...o.details, reason: 'deactivated', planned: 'deactivate', ...(h.quarantineId ? { quarantineId: h.quarantineId } : rc.req.dryRun ? { simulated: true } : {}) } };
      }
      for (const [i, h] of held) {
        const o = outcomes[i];
        if (!o) continue;
        // Quiet: a second look at a held user (a report of a changed manager) that changes nothing is journaled once.
        if (quiet && o.operation === 'unchanged') continue;
        const why = `${h.why}; kept: ${h.groups.join(', ')}`;
        if (o.operation === 'failed') outcomes[i] = { ...o, error: `${o.error}; ${why}` };
        else if (o.operation === 'quarantined') outcomes[i] = { ...o, error: `${o.error}; ${why}` };
        else if (o.operation === 'updated' || o.operation === 'unchanged') {
          const wroteElse = o.changes.length > 0 ? '; the user\'s other changes were written' : '';
          outcomes[i] = { ...o, operation: 'quarantined', error: `${why}${wroteElse}`, details: { ...o.details, reason: 'group-removal', planned: 'removeGroups', groups: h.groups, ...(h.quarantineId ? { quarantineId: h.quarantineId } : rc.req.dryRun ? { simulated: true } : {}) } };
        }
      }
      for (const i of slow) {
        const outcome = outcomes[i];
        if (!outcome) continue; // deferred
        const user = users[i]!;
        resolver.record(user.id, outcome.operation === 'failed' && !outcome.targetKey ? null : outcome.username);
        if (outcome.link) {
          // Only a user fully in step may skip the work next time; a failure is retried in full.
          // A held deactivation is in step with the record as far as idsync may go: a full run does not
          // hold it again each time (nor after a rejection); a change of the record, or --reconcile, plans it again.
          const complete = ((outcome.operation === 'created' || outcome.operation === 'updated' || outcome.operation === 'unchanged') && !outcome.error && !held.has(i)) || (outcome.operation === 'quarantined' && heldDeactivations.has(i) && !held.has(i));
          outcome.link.fingerprint = complete ? (fingerprints[i] ?? null) : null;
          // In step again: the cleanup is undone, its state goes (kept while anything failed).
          if (complete && outcome.link.cleanup) {
            outcome.link.cleanup = null;
            outcome.linkDirty = true;
          }
          if (outcome.link.fingerprint !== (digests?.get(user.id)?.fingerprint ?? links.get(user.id)?.fingerprint ?? null)) outcome.linkDirty = true;
        }
        if (report && !quiet) {
          report.mapped[t.config.id] = mappedValues.get(i) ?? {};
          report.targets.push({ targetId: t.config.id, matched: outcome.matched, match: outcome.details?.match as string | undefined, targetKey: outcome.targetKey, operation: outcome.operation, changes: outcome.changes, error: outcome.error });
        }
      }
      for (const [i, o] of outcomes.entries()) {
        // Quiet: a second look (a report of a changed manager) journals only what it changed.
        if (!o || (quiet && o.operation === 'unchanged' && !o.error)) continue;
        rc.progress.planned++;
        if (o.wrote) rc.progress.written++;
        if (o.operation === 'failed') rc.progress.failed++;
        // Not applied: the user's shadow row stays pending, and the next run projects it again.
        if (o.operation === 'failed' || (o.operation === 'skipped' && breaker.open)) rc.unsettled.add(users[i]!.id);
        rc.journal.record({
          sourceId: users[i]!.id,
          label: userLabel(users[i]!),
          targetId: t.config.id,
          operation: o.operation,
          error: o.error,
          changes: o.changes,
          wrote: o.wrote,
          // An unchanged user linked as before needs no detail; keeping it out keeps large runs lean.
          details: o.operation === 'unchanged' && o.matched === 'link' && !o.details ? null : { matched: o.matched, ...(o.targetKey ? { targetKey: o.targetKey } : {}), ...o.details },
        });
      }
      // What the target confirmed, the journal items of those users and the settled intents: one
      // transaction. The page's other items (unchanged users, when listed) stay buffered and go in batches.
      const dirty = outcomes.filter((o) => o?.link && o.linkDirty).map((o) => o!.link!);
      const cleared = writes.filter((w) => outcomes[w.i]?.confirmed).map((w) => ({ targetId: t.config.id, sourceId: users[w.i]!.id }));
      if (dirty.length > 0 || cleared.length > 0) {
        const settled = new Set([...dirty.map((l) => l.sourceId), ...cleared.map((c) => c.sourceId)]);
        await this.store.intents.settle({ connectorId, links: dirty, cleared, runId: rc.run.id, items: rc.journal.takeFor(t.config.id, settled) });
      }
      await rc.journal.flushIfFull();
    }
  }

  /**
   * Full runs: the link digests of these users and of their managers (whose usernames the
   * mapping and the fingerprint read), in one indexed query per page, so that the run holds a
   * page's worth, not every linked user. Other runs read the links of the users they project.
   * A manager the resolver knows already (processed earlier in the run) is answered by it, so
   * its digest is not read again for every page of its reports.
   */
  private async digestsFor(rc: RunContext, t: TargetRuntime, users: readonly SourceUser[]): Promise<Map<string, LinkDigest> | undefined> {
    if (!rc.projectsEveryone) return undefined;
    const ids = users.map((u) => u.id);
    const resolver = rc.resolvers.get(t.config.id)!;
    resolver.roomFor(users.length);
    if (t.resolvesUsernames) for (const u of users) {
      const m = managerId(u);
      if (m && !resolver.knows(m)) ids.push(m);
    }
    const d = rc.preload ? await rc.preload.linkDigestsOf(t.config.id, ids) : await this.store.links.digestsOf(rc.runtime.connector.id, t.config.id, ids);
    resolver.digests = d;
    return d;
  }

  /**
   * What a user's mapped values depend on: the mapping, the source record and, when a rule reads
   * it, the manager's username in the target. Undefined while that username is not known yet.
   */
  private fingerprint(user: SourceUser, t: TargetRuntime, resolver: UsernameResolver): string | undefined {
    const manager = managerId(user);
    const managerUsername = t.resolvesUsernames && manager ? resolver.lookup(manager) : null;
    if (managerUsername === undefined) return undefined;
    return linkFingerprint(user, t.mappingHash, managerUsername);
  }

  /**
   * End of the run: users deferred for a reference. Managers go before their reports (a chain
   * of deferred managers resolves top-down); what is still unknown now is final: not synced.
   */
  private async resolvePending(rc: RunContext, report?: UserSyncReport): Promise<void> {
    if (rc.deferred.size === 0) return;
    rc.progress.phase = 'resolving';
    rc.req.onProgress?.({ ...rc.progress });
    // The read is over: a manager key names whoever the shadow knows now (or, still nobody, no
    // manager). Users re-read from the shadow get their views attached afresh (deferredUsersOf).
    // Their managers' ids, known now, order them after their managers below.
    const keyed = [...rc.keyWaiting];
    rc.keyWaiting.clear();
    for (let i = 0; i < keyed.length; i += 500) {
      const users = await this.deferredUsersOf(rc, keyed.slice(i, i + 500));
      if (rc.req.dryRun) await attachManagerViews(this.store.shadow, rc.runtime.connector.id, users, new Map(), rc.runtime.managerFields, rc.managers);
      for (const u of users) for (const waiting of rc.deferred.values()) if (waiting.has(u.id)) waiting.set(u.id, managerId(u) ?? null);
    }
    for (const t of rc.runtime.targets) {
      const waiting = rc.deferred.get(t.config.id);
      if (!waiting?.size) continue;
      rc.resolvers.get(t.config.id)!.final = true;
      while (waiting.size > 0) {
        let ready = [...waiting].filter(([, manager]) => !waiting.has(manager ?? '')).map(([id]) => id);
        if (ready.length === 0) ready = [...waiting.keys()]; // a cycle: nothing more to wait for
        for (const id of ready) waiting.delete(id);
        for (let i = 0; i < ready.length; i += 200) await this.processUsers(rc, await this.deferredUsersOf(rc, ready.slice(i, i + 200)), report, t);
      }
    }
    rc.deferred.clear();
    rc.deferredUsers.clear();
  }

  /** Deferred users by id: held in a dry run, else their records as ingested, from the shadow, with their manager views. */
  private async deferredUsersOf(rc: RunContext, ids: string[]): Promise<SourceUser[]> {
    if (rc.req.dryRun) return ids.map((id) => rc.deferredUsers.get(id)).filter((u): u is SourceUser => !!u);
    const rows = await this.store.shadow.getMany(rc.runtime.connector.id, ids);
    const users: SourceUser[] = [];
    for (const id of ids) {
      const r = rows.get(id);
      if (!r?.record || r.tombstone) continue; // gone since it was deferred: its tombstone is projected
      const u = userOf(id, r.record);
      noteRecordFingerprint(u, r.fingerprint);
      users.push(u);
    }
    await attachManagerViews(this.store.shadow, rc.runtime.connector.id, users, new Map(), rc.runtime.managerFields, rc.managers);
    return users;
  }

  /**
   * Approves a quarantine (all its held users, or those of `sourceIds`): a run of kind `cleanup`,
   * journaled like any other. Each user is re-checked first: read again from the identity
   * provider, a user who is back (and in scope) is skipped and said so; for the others the cleanup
   * policy decides again (a protected user stays protected) and the actions go through the normal
   * write path. Users whose action failed stay held, with the error, to approve again.
   */
  async approveQuarantine(req: ApproveQuarantineRequest): Promise<ApproveQuarantineResult> {
    const { connector } = req;
    const q = await this.store.quarantines.get(req.quarantineId);
    if (!q || q.connectorId !== connector.id) throw quarantineNotFound(req.quarantineId);
    if (q.status !== 'open') throw new IdsyncError('CONFLICT', `quarantine ${q.id} is already ${q.status}`, { hint: 'only an open quarantine can be approved or rejected' });
    const held: QuarantineUser[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await this.store.quarantines.users(q.id, { state: 'held', sourceIds: req.sourceIds, offset, limit: 1000 });
      held.push(...page.items);
      if (page.items.length < 1000) break;
    }
    const notHeld = req.sourceIds ? [...new Set(req.sourceIds)].filter((id) => !held.some((u) => u.sourceId === id)) : [];
    if (held.length === 0) {
      throw new IdsyncError('BAD_REQUEST', req.sourceIds ? `none of the source ids given is held in quarantine ${q.id}` : `quarantine ${q.id} holds no user any more`, { hint: 'show the quarantine (idsync quarantine show) for the source ids it holds' });
    }
    const run = await claimRun(this.store.runs, { connector, kind: 'cleanup', trigger: req.trigger, claimWaitMs: USER_SYNC_WAIT_MS, onClaimed: req.onClaimed });
    const journal = new Journal(this.store.runs, run.id);
    const skipped: Array<{ sourceId: string; targetId: string; note: string }> = [];
    let status: RunRecord['status'] = 'succeeded';
    let error: string | null = null;
    let runtime: Runtime | undefined;
    const notice = `approval of quarantine ${q.id}${req.by ? ` by ${req.by}` : ''} (${held.length} users)`;
    try {
      runtime = await buildRuntime(connector, { ...this.ctx, storedSecret: await this.store.connectors.secretLookup(connector.id) });
      const rt = runtime;
      const breakers = new Map(rt.targets.map((t) => [t.config.id, new CircuitBreaker(t.config.id)]));
      const unresolved = await recoverIntents(this.store, rt, run.id, (t) => breakers.get(t.config.id)!);
      const now = this.now();
      // One look at the provider per user, whatever the number of targets it is held for.
      const verdicts = new Map<string, { gone: true; reason: CleanupReason; detail?: string } | { gone: false; note: string; user?: SourceUser }>();
      for (const u of held) {
        if (verdicts.has(u.sourceId)) continue;
        try {
          const found = await rt.source.getUser(u.sourceId, rt.query);
          const outside = found ? this.outOfScope(rt, found) : undefined;
          // A held deactivation's user is still there: the mapping decides below (deactivation-approval.ts).
          if (found && !outside && u.reason === 'deactivated') await attachManagerViews(this.store.shadow, connector.id, [found], new Map(), rt.managerFields, new ManagerCache());
          verdicts.set(u.sourceId, !found ? { gone: true, reason: 'deleted' } : outside ? { gone: true, reason: 'outOfScope', detail: outside } : { gone: false, note: 'back in the identity provider and in scope: not cleaned up', user: found });
        } catch (e) {
          verdicts.set(u.sourceId, { gone: false, note: `could not be re-checked in the identity provider (${errorText(e)}); still held` });
        }
      }
      const tombstones: Array<{ sourceId: string; reason: CleanupReason }> = [];
      for (const t of rt.targets) {
        const mine = held.filter((u) => u.targetId === t.config.id);
        if (mine.length === 0) continue;
        const links = await this.store.links.getMany(connector.id, t.config.id, mine.map((u) => u.sourceId));
        const candidates: CleanupCandidate[] = [];
        const deactivating: Link[] = [];
        const groupRemovals: HeldGroupRemoval[] = [];
        for (const u of mine) {
          const v = verdicts.get(u.sourceId)!;
          const link = links.get(u.sourceId);
          // A held group removal: the held groups the mapping still drops go (group-removal-approval.ts), whether the user is still there or not.
          const unchecked = !v.gone && v.note.includes('still held');
          if (u.reason === GROUP_REMOVAL && link && !unchecked && !unresolved.get(t.config.id)?.has(u.sourceId)) {
            groupRemovals.push({ held: u, link, user: v.gone ? undefined : v.user });
            continue;
          }
          if (!v.gone && v.user && u.reason === 'deactivated' && link && !unresolved.get(t.config.id)?.has(u.sourceId)) {
            // Still in the source and in scope: deactivated only if the mapping still says inactive.
            const d = await deactivationVerdict(t, v.user, link);
            if (d.deactivate) {
              deactivating.push(link);
              continue;
            }
            if (!d.stillHeld) await this.store.quarantines.settleUser(q.id, t.config.id, u.sourceId, 'skipped', d.note, run.id);
            skipped.push({ sourceId: u.sourceId, targetId: t.config.id, note: d.note });
            await journal.add({ sourceId: u.sourceId, label: u.label, targetId: t.config.id, operation: 'skipped', error: d.note, details: { quarantineId: q.id, reason: 'deactivated' } });
            continue;
          }
          const why = !v.gone ? v.note : !link ? 'no longer linked to an account in this target: nothing to do' : unresolved.get(t.config.id)?.get(u.sourceId);
          if (why) {
            const stays = !v.gone && v.note.includes('still held');
            if (!stays) await this.store.quarantines.settleUser(q.id, t.config.id, u.sourceId, 'skipped', why, run.id);
            skipped.push({ sourceId: u.sourceId, targetId: t.config.id, note: why });
            await journal.add({ sourceId: u.sourceId, label: u.label, targetId: t.config.id, operation: 'skipped', error: why, details: { quarantineId: q.id } });
            continue;
          }
          if (v.gone) {
            candidates.push({ link: link!, reason: v.reason, detail: v.detail });
            tombstones.push({ sourceId: u.sourceId, reason: v.reason });
          }
        }
        for (const r of await approveGroupRemovals({ store: this.store, runId: run.id, journal, connectorId: connector.id, quarantineId: q.id }, t, groupRemovals)) {
          if (r.state !== 'held' || r.note) await this.store.quarantines.settleUser(q.id, t.config.id, r.sourceId, r.state, r.note, run.id);
          if (r.state === 'skipped') skipped.push({ sourceId: r.sourceId, targetId: t.config.id, note: r.note ?? '' });
        }
        for (const r of await approveDeactivations({ store: this.store, runId: run.id, journal, connectorId: connector.id, quarantineId: q.id }, t, deactivating)) {
          if (r.ok) await this.store.quarantines.settleUser(q.id, t.config.id, r.sourceId, 'done', null, run.id);
          else await this.store.quarantines.settleUser(q.id, t.config.id, r.sourceId, 'held', `the approval's deactivation failed (${r.error}); approve again to retry`, run.id);
        }
        if (candidates.length === 0) continue;
        const plans = await planCleanups(t, candidates, now);
        const results = await executeCleanups({ store: this.store, runId: run.id, journal, connectorId: connector.id, dryRun: false, now }, t, plans);
        for (const r of results) {
          if (r.ok) await this.store.quarantines.settleUser(q.id, t.config.id, r.sourceId, 'done', null, run.id);
          else await this.store.quarantines.settleUser(q.id, t.config.id, r.sourceId, 'held', `the approval's cleanup failed (${r.error}); approve again to retry`, run.id);
        }
      }
      // The shadow learns what the re-check confirmed (a read held back had not swept these users).
      const rows = await this.store.shadow.getMany(connector.id, tombstones.map((x) => x.sourceId));
      const put = tombstones
        .filter((x) => !rows.get(x.sourceId)?.tombstone)
        .map((x) => {
          const reason = x.reason === 'outOfScope' ? ('out-of-scope' as const) : ('deleted' as const);
          const record = rows.get(x.sourceId)?.record ?? null;
          return { sourceId: x.sourceId, record, fingerprint: shadowFingerprint(record, reason, null), managerId: null, tombstone: reason, tombstoneAt: now.toISOString(), pending: false };
        });
      if (put.length) await this.store.shadow.put(connector.id, put);
      if (journal.counts.failed > 0) status = 'partial';
    } catch (e) {
      status = 'failed';
      error = errorText(e);
    } finally {
      await runtime?.close();
      await journal.flush().catch(() => undefined);
    }
    const finishedAt = new Date().toISOString();
    await this.store.runs.update(run.id, { status, error, finishedAt, counts: journal.counts, notice });
    const quarantine = await this.store.quarantines.closeIfDone(q.id, req.by ?? null);
    return { run: { ...run, status, error, finishedAt, counts: { ...journal.counts }, notice }, quarantine, skipped, notHeld };
  }

  async testConnection(connector: ConnectorConfig): Promise<ConnectionReport> {
    const runtime = await buildRuntime(connector, { ...this.ctx, storedSecret: await this.store.connectors.secretLookup(connector.id) });
    try {
      const safe = async (f: () => Promise<ConnectionReport['source']>, what: string) => {
        try {
          return await f();
        } catch (e) {
          return { ok: false, checks: [{ name: what, ok: false, message: errorText(e) }] };
        }
      };
      const [source, ...targets] = await Promise.all([
        safe(() => runtime.source.test(), 'source'),
        ...runtime.targets.map((t) => safe(() => testTarget(t.config, t.connector), t.config.id)),
      ]);
      const byId = Object.fromEntries(runtime.targets.map((t, i) => [t.config.id, targets[i]!]));
      return { ok: source!.ok && targets.every((t) => t.ok), source: source!, targets: byId };
    } finally {
      await runtime.close();
    }
  }

  /** The source's attribute catalogue, for the mapping editor. */
  async attributes(connector: ConnectorConfig): Promise<AttributeInfo[]> {
    const runtime = await buildRuntime(connector, { ...this.ctx, storedSecret: await this.store.connectors.secretLookup(connector.id) });
    try {
      return await runtime.source.attributes();
    } finally {
      await runtime.close();
    }
  }

  /**
   * Users for a preview, read the way a sync reads them: the user named exactly (UPN, mail,
   * object id), else the first users whose name, mail or UPN starts with `query`, else (no
   * query) the first users of the directory.
   */
  async sampleUsers(connector: ConnectorConfig, query: string, limit = 5): Promise<SourceUser[]> {
    const runtime = await buildRuntime(connector, { ...this.ctx, storedSecret: await this.store.connectors.secretLookup(connector.id) });
    try {
      const users = await this.sampleRead(runtime, query.trim(), limit);
      // The manager as a sync shows it to the mapping: its shadow record, else what the source read with the reference.
      await attachManagerViews(this.store.shadow, connector.id, users, new Map(), null, new ManagerCache());
      return users;
    } finally {
      await runtime.close();
    }
  }

  private async sampleRead(runtime: Runtime, wanted: string, limit: number): Promise<SourceUser[]> {
    if (wanted) {
      const user = await runtime.source.getUser(wanted, runtime.query);
      if (user) return [user];
      const hits = (await runtime.source.searchUsers?.(wanted, limit)) ?? [];
      const users: SourceUser[] = [];
      for (const hit of hits) {
        const u = await runtime.source.getUser(hit.id, runtime.query);
        if (u) users.push(u);
      }
      return users;
    }
    for await (const page of runtime.source.listUsers(runtime.query)) if (page.users.length) return page.users.slice(0, limit);
    return [];
  }

  /** Users whose name, mail or UPN starts with `text`, for the "Sync a user" picker; when none does, the user it names exactly (an object id). */
  async searchUsers(connector: ConnectorConfig, text: string, limit = 10): Promise<UserHit[]> {
    const wanted = text.trim();
    if (!wanted) return [];
    const runtime = await buildRuntime(connector, { ...this.ctx, storedSecret: await this.store.connectors.secretLookup(connector.id) });
    try {
      const hits = (await runtime.source.searchUsers?.(wanted, limit)) ?? [];
      if (hits.length > 0) return hits;
      // Nothing starts with it: maybe an exact reference (an object id) that no prefix matches.
      const u = await runtime.source.getUser(wanted, { attributes: ['displayName', 'userPrincipalName', 'mail'], groups: false, manager: false });
      return u ? [{ id: u.id, displayName: textOf(u.attrs.displayName), userPrincipalName: textOf(u.attrs.userPrincipalName), mail: textOf(u.attrs.mail) }] : [];
    } finally {
      await runtime.close();
    }
  }
}

/**
 * A link's fingerprint: what a user's mapped values in a target depend on (the mapping, the
 * source record, the manager view, the manager's username there when a rule reads it). Built on
 * the shadow's fingerprint of the record (computed at ingest), so the ~2 KB record is serialized
 * once per run, not twice. Exported for the benchmark's direct seeding (bench/seed-direct.ts),
 * which must leave the links exactly as a sync does.
 */
export function linkFingerprint(user: SourceUser, mappingHash: string, managerUsername: string | null): string {
  const record = recordFingerprintOf(user);
  if (record) return hash('sha1', `${mappingHash}\u0000${record}\u0000${JSON.stringify(user.attrs.manager ?? null)}\u0000${managerUsername}`, 'base64url');
  // One-shot hashing of one string: the cheapest way Node offers for ~2 KB per user.
  return hash('sha1', `${mappingHash}\u0000${JSON.stringify(user.attrs)}\u0000${JSON.stringify(user.groups ?? null)}\u0000${managerUsername}`, 'base64url');
}

function breakerOf(rc: RunContext, t: TargetRuntime): CircuitBreaker {
  return rc.breakers.get(t.config.id)!;
}

/** Tells the target's breaker how a user went. */
function observe(breaker: CircuitBreaker, outcome: UserOutcome): UserOutcome {
  if (outcome.cause !== undefined) breaker.failure(outcome.cause);
  else if (outcome.operation !== 'failed') breaker.success();
  return outcome;
}

/** A user not synced to a target whose circuit is open. */
function notSynced(breaker: CircuitBreaker, link: Link | undefined): UserOutcome {
  breaker.notSynced++;
  return { operation: 'skipped', changes: [], error: `not synced: ${breaker.reason}`, matched: link ? 'link' : 'none', targetKey: link?.targetKey, username: link?.targetUsername ?? null, wrote: false };
}

function notSyncedItem(breaker: CircuitBreaker, user: SourceUser) {
  breaker.notSynced++;
  return { sourceId: user.id, label: userLabel(user), targetId: breaker.targetId, operation: 'skipped' as const, error: `not synced: ${breaker.reason}` };
}

/** Ends the run failed, with one reason per target it stopped writing to. */
function failForStoppedTargets(rc: RunContext): void {
  const stopped = [...rc.breakers.values()].filter((b) => b.open);
  if (stopped.length === 0) return;
  throw new IdsyncError('TRANSIENT', stopped.map((b) => b.describe()).join('; '), { hint: 'fix what the reason names (or wait for the target to be back) and run again; users not synced are synced then' });
}

function defer(rc: RunContext, user: SourceUser, targetId: string): void {
  let waiting = rc.deferred.get(targetId);
  if (!waiting) rc.deferred.set(targetId, (waiting = new Map()));
  waiting.set(user.id, managerId(user) ?? null);
  if (rc.req.dryRun) rc.deferredUsers.set(user.id, user);
}

function oneBatch(batch: IngestBatch): Reader {
  return {
    exhaustive: false,
    projectAll: true,
    async *batches() {
      yield batch;
    },
  };
}

const GONE_TEXT: Record<Gone['reason'], string> = {
  'soft-deleted': 'deleted in the identity provider (still restorable there)',
  deleted: 'deleted in the identity provider',
  'out-of-scope': 'no longer in the connector\'s scope',
  'not-returned': 'no longer returned by the identity provider (or out of scope)',
};

function goneText(g: Gone, tail = 'left untouched'): string {
  return `${GONE_TEXT[g.reason]}${g.detail ? ` (${g.detail})` : ''}; ${tail}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function joinNotice(a: string | undefined, b: string | undefined): string | undefined {
  return a && b ? `${a}; ${b}` : (a ?? b);
}

function textOf(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function managerId(u: SourceUser): string | undefined {
  const m = u.attrs.manager as { id?: unknown } | null | undefined;
  return typeof m?.id === 'string' ? m.id : undefined;
}

export function userLabel(u: SourceUser): string {
  const a = u.attrs;
  const name = typeof a.displayName === 'string' ? a.displayName : undefined;
  // The first of these that is text (no array per call: this runs for every user journaled).
  const login = typeof a.userPrincipalName === 'string' ? a.userPrincipalName : typeof a.mail === 'string' ? a.mail : typeof a.login === 'string' ? a.login : typeof a.email === 'string' ? a.email : undefined;
  if (name && login) return `${name} <${login}>`;
  return name ?? login ?? u.id;
}
