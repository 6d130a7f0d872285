// A circuit breaker per target: once failures concern the whole target (see the error policy in
// src/core/error-policy.ts), the run stops writing to it at once instead of failing every user
// on its own after its retries (with Jira unreachable, 100,000 users would take hours). The
// run ends failed for that target with the one reason; the other targets go on.
import { errorText } from '../core/errors.ts';
import { reactionTo, STRIKES_TO_OPEN } from '../core/error-policy.ts';

export class CircuitBreaker {
  /** Why the circuit opened; undefined while the target is being written. */
  reason?: string;
  /** Users not synced to the target because the circuit was open. */
  notSynced = 0;
  private strikes = 0;

  constructor(readonly targetId: string) {}

  get open(): boolean {
    return this.reason !== undefined;
  }

  /** A user failed with `e`: the policy decides whether the target is to be given up. */
  failure(e: unknown): void {
    if (this.open) return;
    const reaction = reactionTo(e);
    if (reaction === 'stop-target' || reaction === 'stop-run') this.reason = errorText(e);
    else if (reaction === 'strike' && ++this.strikes >= STRIKES_TO_OPEN) this.reason = `${STRIKES_TO_OPEN} users in a row failed after their retries: ${errorText(e)}`;
  }

  /** A user went through: a run of 5xx failures is broken. */
  success(): void {
    this.strikes = 0;
  }

  /** The one line the run's error gives for this target. */
  describe(): string {
    const skipped = this.notSynced > 0 ? `; ${this.notSynced} user${this.notSynced === 1 ? ' was' : 's were'} not synced to it` : '';
    return `stopped writing to target ${this.targetId}: ${this.reason}${skipped}`;
  }
}
