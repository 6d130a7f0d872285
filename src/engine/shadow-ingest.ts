// Ingest: a batch of what the source returned goes into the shadow, and the batch says what the
// projection owes. Only rows whose fingerprint changed are written (as pending); a batch that
// changes nothing writes nothing. After a complete read, `sweep` tombstones who it left out.
import type { SourceKeyType, SourceUser } from '../core/types.ts';
import type { ShadowDigest, ShadowRecord, ShadowRepo, ShadowRow, TombstoneReason } from '../store/shadow.ts';
import type { IngestBatch } from './ingest.ts';
import type { SeenMarks } from './seen-marks.ts';
import type { DigestPreload } from './digest-preload.ts';
import { managerRefId, noteRecordFingerprint, recordOf, shadowFingerprint } from './shadow-record.ts';

/** A user the provider says is gone (or that a complete read left out), for the projection. */
export interface Gone {
  sourceId: string;
  reason: TombstoneReason;
  /** Said for the administrator, e.g. why the user is out of scope. */
  detail?: string;
}

export interface Ingested {
  /** Users in scope to project (all of them in a read that projects all, else those changed or owed). */
  project: SourceUser[];
  /** Gone users to project. */
  gone: Gone[];
  /** Ids in scope this batch returned. */
  seen: string[];
  /** Ids whose shadow row is pending after this batch: the projection settles them once applied. */
  owed: string[];
  /** Users already in the shadow whose record changed: their reports may read their attributes. */
  changedRecords: string[];
  /** This batch's records, for manager views within it (a dry run does not write the shadow). */
  records: Map<string, ShadowRecord>;
  /** Ids whose row this batch wrote (cached manager views of them are stale). */
  written: string[];
}

export class ShadowIngest {
  /** Set once the read returns everyone: from then on each batch marks who it returned (SeenMarks). */
  exhaustive = false;
  /** A full read's digests loaded up front (digest-preload.ts); without it each batch asks the store. */
  preload?: DigestPreload;

  constructor(
    private readonly shadow: ShadowRepo,
    private readonly connectorId: string,
    private readonly opts: {
      /** The run's marks of whom its read returned, for the sweep (seen-marks.ts). */
      marks: SeenMarks;
      /** False in a dry run: the shadow is compared with, never written. */
      write: boolean;
      /** Why a user is outside the connector's scope; undefined when in scope. */
      outOfScope: (u: SourceUser) => string | undefined;
      /** Rows pending from earlier runs (owed whatever this read brings). */
      carried: Set<string>;
    },
  ) {}

  async ingest(batch: IngestBatch, projectAll: boolean): Promise<Ingested> {
    const out: Ingested = { project: [], gone: [], seen: [], owed: [], changedRecords: [], records: new Map(), written: [] };
    const ids = [...batch.users.map((u) => u.id), ...batch.removed.map((r) => r.id)];
    // The digests of this batch's ids only, from the preload or in one indexed query: memory does not grow with the directory.
    const known = this.preload ? await this.preload.shadowDigestsOf(ids) : await this.shadow.digestsOf(this.connectorId, ids);
    const byKey = await this.managersByKey(batch.users);
    const now = new Date().toISOString();
    const rows: ShadowRow[] = [];
    const outsideIds: string[] = [];
    // The row's parts as arguments, not an object: most users of a full read are unchanged, and
    // only a changed one needs a row.
    const put = (id: string, record: ShadowRecord | null, fingerprint: string, managerId: string | null, tombstone: TombstoneReason | null, prev: ShadowDigest | undefined): boolean => {
      const changed = !prev || prev.fingerprint !== fingerprint;
      if (changed) {
        rows.push({ sourceId: id, record, fingerprint, managerId, tombstone, pending: true, tombstoneAt: tombstone ? now : null });
        // A user returned twice in the batch compares with what the first return wrote.
        known.set(id, { fingerprint, tombstone, pending: true, rowNo: prev?.rowNo });
      }
      const carried = this.opts.carried.size > 0 && this.opts.carried.delete(id);
      const owed = changed || !!prev?.pending || carried;
      if (owed && this.opts.write) out.owed.push(id);
      return owed;
    };

    for (const u of batch.users) {
      const outside = this.opts.outOfScope(u);
      const tombstone = outside ? 'out-of-scope' : null;
      const record = recordOf(u);
      out.records.set(u.id, record);
      const prev = known.get(u.id);
      const managerId = managerRefId(u) ?? (u.manager && 'key' in u.manager ? (byKey.get(`${u.manager.key}\u0000${u.manager.value.toLowerCase()}`) ?? null) : null);
      const fingerprint = shadowFingerprint(record, tombstone, managerId);
      if (!tombstone) noteRecordFingerprint(u, fingerprint);
      const owed = put(u.id, record, fingerprint, managerId, tombstone, prev);
      if (outside) {
        outsideIds.push(u.id);
        if (owed || projectAll) out.gone.push({ sourceId: u.id, reason: 'out-of-scope', detail: outside });
        continue;
      }
      out.seen.push(u.id);
      if (owed || projectAll) out.project.push(u);
      // Changed, or back from a tombstone: the reports' manager values may change with it.
      if (prev && prev.fingerprint !== fingerprint) out.changedRecords.push(u.id);
    }
    for (const r of batch.removed) {
      const prev = known.get(r.id);
      const owed = put(r.id, null, shadowFingerprint(null, r.reason), null, r.reason, prev);
      if (owed || projectAll) out.gone.push({ sourceId: r.id, reason: r.reason });
      // A deleted manager is no manager any more: its reports are projected again (manager-view.ts).
      if (prev && !prev.tombstone && (r.reason === 'deleted' || r.reason === 'soft-deleted')) out.changedRecords.push(r.id);
    }
    if (this.opts.write) await this.shadow.put(this.connectorId, rows);
    out.written = rows.map((r) => r.sourceId);
    // Who was returned, for the sweep after a complete read: bits of the run by shadow row number
    // (the digests brought them; new rows' numbers are asked once the rows are written), no store write.
    // A replay of the shadow is not a read: nobody it brings counts as returned.
    if (this.exhaustive && !batch.replayed) await this.opts.marks.mark(out.seen, outsideIds, (id) => known.get(id)?.rowNo, this.opts.write && rows.length > 0);
    return out;
  }

  /**
   * After a complete read: every user it did not return (of the shadow, and of the links of the
   * targets given, which may predate the shadow) is gone. New tombstones are written
   * ('not-returned'); those already gone keep their reason. All are returned, so the run reports
   * each one missing. The shadow's rows (and the links) are checked against the run's marks page
   * by page (seen-marks.ts), so nothing of the size of the directory is held; only the gone users are.
   */
  async sweep(targetIds: readonly string[]): Promise<Gone[]> {
    const gone: Gone[] = [];
    const now = new Date().toISOString();
    const fingerprint = shadowFingerprint(null, 'not-returned');
    const tombstone = async (ids: string[]) => {
      const rows: ShadowRow[] = ids.map((id) => ({ sourceId: id, record: null, fingerprint, managerId: null, tombstone: 'not-returned', tombstoneAt: now, pending: true }));
      for (const id of ids) gone.push({ sourceId: id, reason: 'not-returned' });
      if (this.opts.write) await this.shadow.put(this.connectorId, rows);
    };
    for await (const page of this.opts.marks.shadowNotReturned(SWEEP_PAGE)) {
      for (const r of page) if (r.tombstone) gone.push({ sourceId: r.sourceId, reason: r.tombstone });
      await tombstone(page.filter((r) => !r.tombstone).map((r) => r.sourceId));
    }
    // Linked users the shadow never held (linked before it existed), once each whatever the targets.
    const linkedOnly = new Set<string>();
    for (const targetId of targetIds) {
      for await (const page of this.opts.marks.linkedWithoutShadowNotReturned(targetId, SWEEP_PAGE)) {
        const fresh = page.filter((id) => !linkedOnly.has(id));
        for (const id of fresh) linkedOnly.add(id);
        await tombstone(fresh);
      }
    }
    return gone;
  }

  /** Managers referenced by another key (an LDAP DN), resolved through the alias keys. */
  private async managersByKey(users: SourceUser[]): Promise<Map<string, string>> {
    const wanted = new Map<SourceKeyType, string[]>();
    for (const u of users) if (u.manager && 'key' in u.manager) (wanted.get(u.manager.key) ?? wanted.set(u.manager.key, []).get(u.manager.key)!).push(u.manager.value);
    const out = new Map<string, string>();
    for (const [type, values] of wanted) for (const [v, id] of await this.shadow.resolveKeys(this.connectorId, type, values)) out.set(`${type}\u0000${v}`, id);
    return out;
  }
}

/** Rows per page of the sweep's queries. */
const SWEEP_PAGE = 2000;
