// Intent before write. Before a run writes to target users it records, per user, what it is
// about to do (one statement per page); the intent is cleared in the same transaction that
// saves the confirmed link and journals the user. A SIGKILL between the two leaves the intent
// behind, and the next run knows that user's state in the target is unknown (see
// src/engine/recovery.ts): the record of what a target holds never claims more, or less,
// than the target confirmed.
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { removeLinks, upsertLinks, type Link } from './links.ts';
import { WriteWatch } from './write-watch.ts';
import { assertRunOwner } from './run-fence.ts';
import { countsFromJson, insertRunItems, type RunItem } from './runs.ts';
import type { RunCounts } from '../core/types.ts';

export interface WriteIntent {
  connectorId: string;
  targetId: string;
  sourceId: string;
  runId: string;
  op: 'create' | 'update';
  targetKey: string | null;
  username: string | null;
  email: string | null;
  label: string | null;
  /** Memberships the write adds: idsync's, whether or not the run lived to record them. */
  groupsAdd: string[];
}

export type IntentKey = Pick<WriteIntent, 'targetId' | 'sourceId'>;

/** Rows per statement: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

export class IntentRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres' = 'sqlite',
    /** Told the links each settle writes (engine/digest-preload.ts). */
    private readonly watch = new WriteWatch(),
  ) {}

  /** Records the intents of one page, before any of its writes is sent. */
  async record(intents: WriteIntent[]): Promise<void> {
    if (intents.length === 0) return;
    const now = new Date().toISOString();
    // Fenced too: a run taken over must not go on to send the writes these intents announce.
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      for (let i = 0; i < intents.length; i += CHUNK) {
        await trx
          .insertInto('write_intents')
          .values(
            intents.slice(i, i + CHUNK).map((w) => ({
              connector_id: w.connectorId,
              target_id: w.targetId,
              source_id: w.sourceId,
              run_id: w.runId,
              op: w.op,
              target_key: w.targetKey,
              username: w.username,
              email: w.email,
              label: w.label,
              groups_add: JSON.stringify(w.groupsAdd),
              created_at: now,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['connector_id', 'target_id', 'source_id']).doUpdateSet((eb) => ({
              run_id: eb.ref('excluded.run_id'),
              op: eb.ref('excluded.op'),
              target_key: eb.ref('excluded.target_key'),
              username: eb.ref('excluded.username'),
              email: eb.ref('excluded.email'),
              label: eb.ref('excluded.label'),
              groups_add: eb.ref('excluded.groups_add'),
              created_at: eb.ref('excluded.created_at'),
            })),
          )
          .execute();
      }
    });
  }

  /** Intents a run left behind (none after a run that ended normally, save unconfirmed writes). */
  async outstanding(connectorId: string): Promise<WriteIntent[]> {
    const rows = await this.db.selectFrom('write_intents').selectAll().where('connector_id', '=', connectorId).orderBy('target_id').orderBy('source_id').execute();
    return rows.map((r) => ({
      connectorId: r.connector_id,
      targetId: r.target_id,
      sourceId: r.source_id,
      runId: r.run_id,
      op: r.op as WriteIntent['op'],
      targetKey: r.target_key,
      username: r.username,
      email: r.email,
      label: r.label,
      groupsAdd: JSON.parse(r.groups_add),
    }));
  }

  /**
   * What a page confirmed, in one transaction: the links as the target confirmed them, the
   * run items buffered so far (a created account is journaled exactly when its link is), and
   * the intents that are thereby settled.
   */
  async settle(s: { connectorId: string; links: Link[]; cleared: IntentKey[]; runId: string; items: RunItem[]; /** Accounts the target confirmed deleted (cleanup). */ removedLinks?: IntentKey[] }): Promise<void> {
    if (s.links.length === 0 && s.cleared.length === 0 && s.items.length === 0 && !s.removedLinks?.length) return;
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      await upsertLinks(trx, s.links, this.watch);
      for (const k of s.removedLinks ?? []) await removeLinks(trx, s.connectorId, k.targetId, [k.sourceId], this.watch);
      await insertRunItems(trx, s.runId, s.items);
      await clearIntents(trx, s.connectorId, s.cleared);
    });
  }

  /**
   * Recovery of a dead run's intents, in one transaction: the links re-read from the target,
   * the accounts it created journaled in that run's own journal (and counts), the intents
   * cleared.
   */
  async recover(r: { connectorId: string; links: Link[]; cleared: IntentKey[]; created: Array<{ runId: string; item: Omit<RunItem, 'seq'> }> }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      await upsertLinks(trx, r.links, this.watch);
      const byRun = new Map<string, Array<Omit<RunItem, 'seq'>>>();
      for (const c of r.created) byRun.set(c.runId, [...(byRun.get(c.runId) ?? []), c.item]);
      for (const [runId, items] of byRun) {
        const run = await trx.selectFrom('runs').select(['counts']).where('id', '=', runId).executeTakeFirst();
        if (!run) continue; // the run was deleted meanwhile: nobody is left to read its journal
        const last = await trx.selectFrom('run_items').select((eb) => eb.fn.max<number>('seq').as('seq')).where('run_id', '=', runId).executeTakeFirst();
        let seq = Number(last?.seq ?? 0);
        await insertRunItems(trx, runId, items.map((it) => ({ ...it, seq: ++seq })));
        const counts = countsFromJson(run.counts);
        for (const it of items) {
          counts.created++;
          if (it.targetId) {
            counts.targets ??= {};
            const t = (counts.targets[it.targetId] ??= { created: 0, updated: 0, unchanged: 0, failed: 0, skipped: 0, missing: 0, usersWritten: 0, writes: 0 });
            t.created++;
            t.writes = ++t.usersWritten;
          }
          counts.writes = ++counts.usersWritten;
        }
        await trx.updateTable('runs').set({ counts: JSON.stringify(counts) }).where('id', '=', runId).execute();
      }
      await clearIntents(trx, r.connectorId, r.cleared);
    });
  }
}

async function clearIntents(db: Kysely<Database>, connectorId: string, keys: IntentKey[]): Promise<void> {
  const byTarget = new Map<string, string[]>();
  for (const k of keys) byTarget.set(k.targetId, [...(byTarget.get(k.targetId) ?? []), k.sourceId]);
  for (const [targetId, ids] of byTarget) {
    for (let i = 0; i < ids.length; i += CHUNK) {
      await db
        .deleteFrom('write_intents')
        .where('connector_id', '=', connectorId)
        .where('target_id', '=', targetId)
        .where('source_id', 'in', ids.slice(i, i + CHUNK))
        .execute();
    }
  }
}
