// Which errors stop what: the one declared policy. Every error reaching the engine or a
// connector's per-field handling is classified here, after the HTTP client's own retries
// (5xx, timeouts and dropped connections with backoff; 429 honouring Retry-After) have run out.
//
//   reaction      what happens
//   fail-user     this user fails (with the reason); the run goes on
//   strike        this user fails; STRIKES_TO_OPEN of them in a row stop writing to the target
//   stop-target   stop writing to this target now (its circuit opens); other targets go on and
//                 the run ends failed for this target with this one reason
//   stop-run      the run stops (a source that cannot be read completely)
//   full-read     an incremental read cannot go on from its checkpoint: the run reads in full instead
import { IdsyncError } from './errors.ts';

export type Reaction = 'fail-user' | 'strike' | 'stop-target' | 'stop-run' | 'full-read';

interface PolicyRule {
  /** In words, for the docs and for whoever reads this table. */
  when: string;
  applies: (e: IdsyncError) => boolean;
  target: Reaction;
  source: Reaction;
}

export const ERROR_POLICY: readonly PolicyRule[] = [
  {
    when: 'the provider no longer accepts the checkpoint of an incremental read (CHECKPOINT_EXPIRED)',
    applies: (e) => e.code === 'CHECKPOINT_EXPIRED',
    target: 'fail-user',
    source: 'full-read',
  },
  { when: 'credentials or permissions refused (AUTH)', applies: (e) => e.code === 'AUTH', target: 'stop-target', source: 'stop-run' },
  { when: 'the configuration is wrong (CONFIG)', applies: (e) => e.code === 'CONFIG', target: 'stop-target', source: 'stop-run' },
  {
    when: 'throttled past the retry budget, or a Retry-After longer than the run can wait (RATE_LIMITED)',
    applies: (e) => e.code === 'RATE_LIMITED',
    target: 'stop-target',
    source: 'stop-run',
  },
  {
    when: 'unreachable, TLS refused, timed out or dropped after the retries (TRANSIENT without an HTTP answer)',
    applies: (e) => e.code === 'TRANSIENT' && e.status === undefined,
    target: 'stop-target',
    source: 'stop-run',
  },
  { when: 'a 5xx answer after the retries (TRANSIENT with a status)', applies: (e) => e.code === 'TRANSIENT', target: 'strike', source: 'stop-run' },
  {
    when: 'one request refused: BAD_REQUEST, CONFLICT, NOT_FOUND, INTERNAL',
    applies: () => true,
    target: 'fail-user',
    source: 'stop-run',
  },
];

/** Users failing in a row, each past its retries, that make a 5xx storm stop the target. */
export const STRIKES_TO_OPEN = 5;

/** How the engine reacts to `e` on a target (default) or on the source. An unknown error (a bug) fails the user it hit. */
export function reactionTo(e: unknown, side: 'target' | 'source' = 'target'): Reaction {
  if (!(e instanceof IdsyncError)) return side === 'source' ? 'stop-run' : 'fail-user';
  const rule = ERROR_POLICY.find((r) => r.applies(e))!;
  return rule[side];
}

/**
 * Whether a connector may report `e` on the one field it hit and go on with the user's other
 * fields. Anything else propagates to the engine, which applies the policy: errors about the
 * whole target, a 5xx storm in the making, and bugs (not IdsyncErrors) that must surface.
 */
export function concernsOnlyThisField(e: unknown): boolean {
  return e instanceof IdsyncError && reactionTo(e) === 'fail-user';
}
