// Quarantines (issue 10): a cleanup the engine held back instead of doing it (an empty read, a
// read that left out too many linked users, a cleanup larger than the safety threshold), with
// every user it would have touched. An administrator approves all or some (the engine re-checks
// each user and acts in a run of its own) or rejects it. While a quarantine is open, later runs
// leave its users alone and do not quarantine them again.
import { assertRunOwner } from './run-fence.ts';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { IdsyncError } from '../core/errors.ts';

export type QuarantineStatus = 'open' | 'approved' | 'rejected';
export type QuarantineReason = 'empty-read' | 'read-drop' | 'threshold' | 'group-removals';
/** The user reason of a held group-membership removal: such a row holds only `groups`, not the account (see heldGroups). */
export const GROUP_REMOVAL = 'group-removal';
/** held: waiting for a decision (also after an approval whose action failed, with the error as note); done: acted on by an approval run; skipped: back (or gone from the target) at approval; rejected. */
export type QuarantineUserState = 'held' | 'done' | 'skipped' | 'rejected';

export interface QuarantineUser {
  targetId: string;
  sourceId: string;
  label: string | null;
  targetKey: string;
  targetUsername: string | null;
  /** The step the cleanup policy planned: disable, removeAccess, anonymise, delete (or keep for a read held back); `deactivate` for a deactivation the mapping planned (user.active false). */
  planned: string;
  /** deleted | disabled | outOfScope (a cleanup's reason), deactivated (the mapping took the account inactive), group-removal (`planned` removeGroups: only `groups` are held) */
  reason: string;
  /** A held group-membership removal: the managed target groups it keeps (else absent). */
  groups?: string[];
  state: QuarantineUserState;
  note: string | null;
  runId: string | null;
}

export interface Quarantine {
  id: string;
  connectorId: string;
  status: QuarantineStatus;
  reason: QuarantineReason;
  message: string;
  runId: string;
  affected: number;
  /** Users still waiting for a decision. */
  held: number;
  createdAt: string;
  closedAt: string | null;
  closedBy: string | null;
}

const CHUNK = 400;

export class QuarantineRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres' = 'sqlite',
  ) {}

  /** Stores a new open quarantine with its users (one transaction). */
  async create(q: { connectorId: string; reason: QuarantineReason; message: string; runId: string; users: NewQuarantineUser[]; now?: string }): Promise<Quarantine> {
    const id = `q-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const createdAt = q.now ?? new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      // A run another process took for dead holds nothing more (run-fence.ts).
      await assertRunOwner(trx, this.dialect);
      await trx.insertInto('cleanup_quarantines').values({ id, connector_id: q.connectorId, status: 'open', reason: q.reason, message: q.message, run_id: q.runId, affected: q.users.length, created_at: createdAt, closed_at: null, closed_by: null }).execute();
      await insertUsers(trx, id, q.connectorId, q.users);
    });
    return (await this.get(id))!;
  }

  /** Adds users to an open quarantine of this run (held after it was stored, later in the same run). */
  async addUsers(id: string, connectorId: string, users: NewQuarantineUser[]): Promise<void> {
    if (users.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      await insertUsers(trx, id, connectorId, users);
      await trx.updateTable('cleanup_quarantines').set((eb) => ({ affected: eb('affected', '+', users.length) })).where('id', '=', id).execute();
    });
  }

  async get(id: string): Promise<Quarantine | undefined> {
    const r = await this.db.selectFrom('cleanup_quarantines').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) return undefined;
    return fromRow(r, await this.heldCount(id));
  }

  async list(opts: { connectorId?: string; status?: QuarantineStatus; limit?: number; offset?: number } = {}): Promise<{ total: number; items: Quarantine[] }> {
    let q = this.db.selectFrom('cleanup_quarantines');
    if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId);
    if (opts.status) q = q.where('status', '=', opts.status);
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit ?? 50).offset(opts.offset ?? 0).execute();
    const items: Quarantine[] = [];
    for (const r of rows) items.push(fromRow(r, await this.heldCount(r.id)));
    return { total, items };
  }

  /** A quarantine's users, paged, in target and source-id order. */
  async users(id: string, opts: { state?: QuarantineUserState; sourceIds?: string[]; offset?: number; limit?: number } = {}): Promise<{ total: number; items: QuarantineUser[] }> {
    let q = this.db.selectFrom('cleanup_quarantine_users').where('quarantine_id', '=', id);
    if (opts.state) q = q.where('state', '=', opts.state);
    if (opts.sourceIds) q = opts.sourceIds.length ? q.where('source_id', 'in', opts.sourceIds) : q.where('source_id', '=', '\u0000none');
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await q.selectAll().orderBy('target_id').orderBy('source_id').limit(opts.limit ?? 100).offset(opts.offset ?? 0).execute();
    return { total, items: rows.map(userFromRow) };
  }

  /**
   * Source ids (per target) whose account is held by an open quarantine of the connector (a
   * cleanup, a deactivation): runs leave them alone. A held group removal holds only its groups
   * (heldGroups), not the account: its user is synced, and cleaned up if it leaves.
   */
  async held(connectorId: string): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    const rows = await this.db.selectFrom('cleanup_quarantine_users').select(['target_id', 'source_id']).where('connector_id', '=', connectorId).where('state', '=', 'held').where('reason', '!=', GROUP_REMOVAL).execute();
    for (const r of rows) (out.get(r.target_id) ?? out.set(r.target_id, new Set()).get(r.target_id)!).add(r.source_id);
    return out;
  }

  /**
   * Per target: the account removals (planned `steps`) still held by the connector's open
   * quarantines stored since `since`: the deletion safety's burst counts them (cleanup-burst.ts),
   * so a mass removal held at 09:00 is not followed by more of the same in slices at 09:20.
   */
  async heldRemovalsSince(connectorId: string, since: string, steps: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('cleanup_quarantine_users as u')
      .innerJoin('cleanup_quarantines as q', 'q.id', 'u.quarantine_id')
      .select(['u.target_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('q.connector_id', '=', connectorId)
      .where('q.status', '=', 'open')
      .where('q.created_at', '>=', since)
      .where('u.state', '=', 'held')
      .where('u.reason', '!=', GROUP_REMOVAL)
      .where('u.planned', 'in', [...steps])
      .groupBy('u.target_id')
      .execute();
    return new Map(rows.map((r) => [r.target_id, Number(r.n)]));
  }

  /** Per target and source id: the group removals held by open quarantines (quarantine id, groups kept). */
  async heldGroups(connectorId: string): Promise<Map<string, Map<string, Array<{ quarantineId: string; groups: string[] }>>>> {
    const out = new Map<string, Map<string, Array<{ quarantineId: string; groups: string[] }>>>();
    const rows = await this.db.selectFrom('cleanup_quarantine_users').select(['quarantine_id', 'target_id', 'source_id', 'groups']).where('connector_id', '=', connectorId).where('state', '=', 'held').where('reason', '=', GROUP_REMOVAL).execute();
    for (const r of rows) {
      const byUser = out.get(r.target_id) ?? out.set(r.target_id, new Map()).get(r.target_id)!;
      (byUser.get(r.source_id) ?? byUser.set(r.source_id, []).get(r.source_id)!).push({ quarantineId: r.quarantine_id, groups: r.groups ? (JSON.parse(r.groups) as string[]) : [] });
    }
    return out;
  }

  /** Records what an approval run did with one user. */
  async settleUser(id: string, targetId: string, sourceId: string, state: QuarantineUserState, note: string | null, runId: string | null): Promise<void> {
    await this.db.updateTable('cleanup_quarantine_users').set({ state, note, run_id: runId }).where('quarantine_id', '=', id).where('target_id', '=', targetId).where('source_id', '=', sourceId).execute();
  }

  /** Rejects every user still held, and closes the quarantine. */
  async reject(id: string, by: string | null): Promise<Quarantine> {
    const q = await this.get(id);
    if (!q) throw notFound(id);
    if (q.status !== 'open') throw new IdsyncError('CONFLICT', `quarantine ${id} is already ${q.status}`, { hint: 'only an open quarantine can be approved or rejected' });
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('cleanup_quarantine_users').set({ state: 'rejected', note: `rejected${by ? ` by ${by}` : ''}` }).where('quarantine_id', '=', id).where('state', '=', 'held').execute();
      await trx.updateTable('cleanup_quarantines').set({ status: 'rejected', closed_at: now, closed_by: by }).where('id', '=', id).execute();
    });
    return (await this.get(id))!;
  }

  /**
   * Closes an open quarantine that holds nobody any more because nothing was left to decide
   * (its held group removals were dropped when the groups came back): closed as rejected (nothing
   * was done), by `by`.
   */
  async closeIfMoot(id: string, by: string): Promise<void> {
    if ((await this.heldCount(id)) > 0) return;
    await this.db.updateTable('cleanup_quarantines').set({ status: 'rejected', closed_at: new Date().toISOString(), closed_by: by }).where('id', '=', id).where('status', '=', 'open').execute();
  }

  /** Closes the quarantine as approved once no user is held any more; returns it as it stands. */
  async closeIfDone(id: string, by: string | null): Promise<Quarantine> {
    if ((await this.heldCount(id)) === 0) {
      await this.db.updateTable('cleanup_quarantines').set({ status: 'approved', closed_at: new Date().toISOString(), closed_by: by }).where('id', '=', id).where('status', '=', 'open').execute();
    }
    return (await this.get(id))!;
  }

  private async heldCount(id: string): Promise<number> {
    const r = await this.db.selectFrom('cleanup_quarantine_users').select((eb) => eb.fn.countAll<number>().as('n')).where('quarantine_id', '=', id).where('state', '=', 'held').executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

export type NewQuarantineUser = Omit<QuarantineUser, 'state' | 'note' | 'runId'>;

async function insertUsers(trx: Kysely<Database>, id: string, connectorId: string, users: NewQuarantineUser[]): Promise<void> {
  for (let i = 0; i < users.length; i += CHUNK) {
    await trx
      .insertInto('cleanup_quarantine_users')
      .values(
        users.slice(i, i + CHUNK).map((u) => ({
          quarantine_id: id,
          connector_id: connectorId,
          target_id: u.targetId,
          source_id: u.sourceId,
          label: u.label,
          target_key: u.targetKey,
          target_username: u.targetUsername,
          planned: u.planned,
          reason: u.reason,
          state: 'held',
          note: null,
          run_id: null,
          groups: u.groups ? JSON.stringify(u.groups) : null,
        })),
      )
      .execute();
  }
}

export function notFound(id: string): IdsyncError {
  return new IdsyncError('NOT_FOUND', `no quarantine ${id}`, { hint: 'list the quarantines (idsync quarantine list, GET /api/v1/quarantines) for their ids' });
}

function fromRow(r: Database['cleanup_quarantines'], held: number): Quarantine {
  return {
    id: r.id,
    connectorId: r.connector_id,
    status: r.status as QuarantineStatus,
    reason: r.reason as QuarantineReason,
    message: r.message,
    runId: r.run_id,
    affected: Number(r.affected),
    held,
    createdAt: r.created_at,
    closedAt: r.closed_at,
    closedBy: r.closed_by,
  };
}

function userFromRow(r: Database['cleanup_quarantine_users']): QuarantineUser {
  return {
    targetId: r.target_id,
    sourceId: r.source_id,
    label: r.label,
    targetKey: r.target_key,
    targetUsername: r.target_username,
    planned: r.planned,
    reason: r.reason,
    state: r.state as QuarantineUserState,
    note: r.note,
    runId: r.run_id,
    ...(r.groups ? { groups: JSON.parse(r.groups) as string[] } : {}),
  };
}
