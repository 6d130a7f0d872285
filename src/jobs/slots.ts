// Schedule slots claimed in the store: every idsync process computes the same slots (cron in the
// schedule's time zone, incremental intervals aligned to the epoch), and the first to insert a
// slot's row runs it; the others find the row and let it be. A claim row rather than pg-boss's
// own schedule() because it is the same code on SQLite and PostgreSQL, it does not depend on
// the processes' clocks falling into the same time bucket, it works below pg-boss's one-minute
// cron granularity (incremental syncs every 10 s and more), and a count of rows says exactly
// which slots were run.
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { isUniqueViolation } from '../store/runs.ts';
import { describeOwner, thisProcess } from '../store/run-owner.ts';

export type SlotKind = 'full' | 'incremental';

export class SlotClaims {
  constructor(private readonly db: Kysely<Database>) {}

  /** True when this process won the slot (it must run it); false when another process has it. */
  async claim(connectorId: string, kind: SlotKind, slot: Date): Promise<boolean> {
    try {
      await this.db
        .insertInto('schedule_slots')
        .values({ connector_id: connectorId, kind, slot: slot.toISOString(), claimed_by: describeOwner(thisProcess()), claimed_at: new Date().toISOString() })
        .execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async list(connectorId: string, kind?: SlotKind): Promise<Array<{ kind: SlotKind; slot: string; claimedBy: string }>> {
    let q = this.db.selectFrom('schedule_slots').selectAll().where('connector_id', '=', connectorId);
    if (kind) q = q.where('kind', '=', kind);
    return (await q.orderBy('slot').execute()).map((r) => ({ kind: r.kind as SlotKind, slot: r.slot, claimedBy: r.claimed_by }));
  }

  /** Drops claims older than `before` (they only need to outlive the slot's firing). */
  async prune(before: Date): Promise<void> {
    await this.db.deleteFrom('schedule_slots').where('slot', '<', before.toISOString()).execute();
  }
}
