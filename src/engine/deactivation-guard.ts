// Deactivations count as account removals (issue 13). A user the mapping turns inactive
// (`user.active` true → false: Entra's SCIM PATCH `active: "False"`, Okta's PUT with
// `active: false`, a read where `accountEnabled` went false) loses access to the target as
// surely as one the cleanup disables. So a burst of them is judged by the same safety threshold
// and the same one-hour burst window as cleanups (cleanup-burst.ts), counted together with the
// run's cleanups once, at the end of the read, whatever the run kind (full, incremental, user,
// push):
//
//   - while the source is read, a linked account the mapping would deactivate is not written: the
//     user waits (like a group removal in GroupRemovalGuard) until the engine decides at the cleanup;
//   - the engine counts the waiting deactivations, the run's damaging cleanups and the removals
//     of the connector's runs of the last hour against the threshold (engine cleanup());
//   - under it, the waiting users are written as any other; over it, their `user.active` is taken
//     out of the write (their other changes still go through), each is journaled `quarantined`
//     and listed in the run's quarantine with reason `deactivated`. The link keeps the account
//     active, as the target still has it; an approval re-checks each user and writes the
//     deactivation in a run of kind `cleanup`.
//
// Users held by an open quarantine are not counted nor quarantined again: their deactivation is
// left out of every write until an administrator decides.
import type { FieldValues, SourceUser } from '../core/types.ts';
import type { MappingFlow } from '../core/types.ts';
import type { Link } from '../store/links.ts';

/** What the guard tells the engine to do with a user about to be planned. */
export type DeactivationReview =
  /** Not a deactivation (or one allowed): plan and write as usual. */
  | { kind: 'proceed' }
  /** A deactivation while undecided: the user waits for the end of the read. */
  | { kind: 'defer' }
  /** The deactivation is held: plan `values` (the mapped ones without `user.active`) and journal the user `quarantined`. */
  | { kind: 'held'; why: string; quarantineId?: string; values: FieldValues };

/** Whether the mapped values take a linked, active account to inactive. */
export function isDeactivation(link: Link | undefined, values: FieldValues, flows: Record<string, MappingFlow>): boolean {
  if (!link || values['user.active'] !== false) return false;
  // onCreate never writes a linked account; ifEmpty does not overwrite true.
  if ((flows['user.active'] ?? 'always') !== 'always') return false;
  // Active unless idsync last wrote it inactive (an account never written by this rule is active).
  return link.applied['user.active'] !== false;
}

export class DeactivationGuard {
  /** Per target: the users waiting for the decision, with their links. */
  private readonly waiting = new Map<string, Map<string, { user: SourceUser; link: Link }>>();
  /** Per target, once decided: held (with the reason said in the journal) or not. */
  private readonly decided = new Map<string, { hold: boolean; why: string; quarantineId?: string }>();

  constructor(
    /** Per target: source ids held by an open quarantine (any reason). */
    private readonly openHolds: ReadonlyMap<string, ReadonlySet<string>>,
  ) {}

  /**
   * Reviews a user about to be planned. A held deactivation comes back with the values to plan
   * instead: the same without `user.active` (so nothing of it is planned or written, and the
   * link's snapshot keeps the account active); the rest of the user goes on.
   */
  review(targetId: string, user: SourceUser, link: Link | undefined, values: FieldValues, flows: Record<string, MappingFlow>): DeactivationReview {
    if (!isDeactivation(link, values, flows)) return { kind: 'proceed' };
    if (this.openHolds.get(targetId)?.has(user.id)) {
      return { kind: 'held', why: 'deactivation held in an open quarantine: the account stays active until an administrator approves or rejects it', values: without(values) };
    }
    const d = this.decided.get(targetId);
    if (!d) {
      let w = this.waiting.get(targetId);
      if (!w) this.waiting.set(targetId, (w = new Map()));
      w.set(user.id, { user, link: link! });
      return { kind: 'defer' };
    }
    if (!d.hold) return { kind: 'proceed' };
    return { kind: 'held', why: d.why, quarantineId: d.quarantineId, values: without(values) };
  }

  /** Whether a user waits for the decision (its shadow row must not settle yet). */
  isWaiting(sourceId: string): boolean {
    for (const w of this.waiting.values()) if (w.has(sourceId)) return true;
    return false;
  }

  /** The deactivations waiting in a target. */
  waitingIn(targetId: string): Array<{ user: SourceUser; link: Link }> {
    return [...(this.waiting.get(targetId)?.values() ?? [])];
  }

  /** Decides a target: the users waiting there (and any reviewed later in the run) are held or written. */
  decide(targetId: string, hold: boolean, why = '', quarantineId?: string): void {
    this.decided.set(targetId, { hold, why, quarantineId });
  }

  /** Hands the waiting users of a target back to be planned again (decided by then); clears them. */
  release(targetId: string): SourceUser[] {
    const w = this.waiting.get(targetId);
    this.waiting.delete(targetId);
    return [...(w?.values() ?? [])].map((x) => x.user);
  }
}

function without(values: FieldValues): FieldValues {
  const rest = { ...values };
  delete rest['user.active'];
  return rest;
}
