// Fencing of a run's writes. A run is owned by the process that claimed it (runs.owner_token,
// src/store/run-owner.ts) for as long as it is `running`. When another process decides the run is
// dead (no heartbeat, or its process gone) it marks the run failed and the run's job is taken
// over by a new run; a process that was only stalled (paused, swapped out, cut off from the
// database) may wake up afterwards and go on writing. Those late writes must not land: they
// would overwrite links, pending shadow rows or the checkpoint the new run relies on.
//
// So every write a run makes through the store (journal, links, intents, shadow rows and state)
// first checks, in the same transaction, that the run is still running and still owned by this
// process; on PostgreSQL the run's row is locked for it (FOR UPDATE), so a reaper marking the run
// failed waits for a write in flight, and every write after that is refused.
//
// Which run a write belongs to is carried by an AsyncLocalStorage context the RunCoordinator
// opens around each run (withRunFence) and RunRepo.create fills in with the claimed run: the
// engine passes nothing along, and writes outside any run (the UI, the CLI) are not fenced.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import { IdsyncError } from '../core/errors.ts';
import type { Database } from './schema.ts';
import { thisProcess } from './run-owner.ts';

interface Fence {
  runId?: string;
}

const fences = new AsyncLocalStorage<Fence>();

/** Runs `fn` (one run) so that the store's writes made by it are fenced to the run it claims. */
export function withRunFence<T>(fn: () => Promise<T>): Promise<T> {
  return fences.run({}, fn);
}

/** Called by RunRepo.create: the run now claimed is the one this context's writes belong to. */
export function fenceClaimed(runId: string): void {
  const f = fences.getStore();
  if (f && !f.runId) f.runId = runId;
}

/** The run the current writes belong to, if any. */
export function fencedRun(): string | undefined {
  return fences.getStore()?.runId;
}

export function staleRunError(runId: string, why: string): IdsyncError {
  return new IdsyncError('CONFLICT', `run ${runId} no longer owns its connector (${why}): its late writes are refused`, {
    hint: 'another idsync process took the run over after this one went silent; see the connector\'s run history for the run that did it',
  });
}

/**
 * Throws unless the current run (if any) is still running and owned by this process. `db` is
 * the transaction the write is part of; on PostgreSQL the run row stays locked until it ends.
 */
export async function assertRunOwner(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const runId = fencedRun();
  if (!runId) return;
  const q = db.selectFrom('runs').select(['status', 'owner_token']).where('id', '=', runId);
  const row = await (dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
  check(runId, row);
}

/** The same check for a write made on the raw SQLite handle (inside its own transaction). */
export function assertRunOwnerSync(read: (runId: string) => { status: string; owner_token: string | null } | undefined): void {
  const runId = fencedRun();
  if (runId) check(runId, read(runId));
}

function check(runId: string, row: { status: string; owner_token: string | null } | undefined): void {
  if (!row) throw staleRunError(runId, 'the run was deleted');
  if (row.status !== 'running') throw staleRunError(runId, `it was marked ${row.status}`);
  if (row.owner_token !== thisProcess().token) throw staleRunError(runId, 'another process owns it');
}
