// What idsync tells an administrator about without being asked: a run that failed (or, when a
// channel asks for it, finished with failed users), and a cleanup held in quarantine. These are
// the only events; every channel renders them from the same fields (render.ts).
import type { RunKind } from '../core/types.ts';

export interface RunFailedEvent {
  kind: 'run-failed';
  connectorId: string;
  connectorName?: string;
  runId: string;
  runKind: RunKind;
  /** `failed`: the run stopped or could not do its job; `partial`: it ran, but some users failed. */
  status: 'failed' | 'partial';
  /** What went wrong, as the run record says it (never a secret: errors are built without them). */
  error: string;
  /** Users that failed in the run, when known (partial runs). */
  failedUsers?: number;
  startedAt: string;
  finishedAt: string;
  /** The run in the UI, when a public URL is configured. */
  link?: string;
}

export interface QuarantineEvent {
  kind: 'quarantine';
  connectorId: string;
  connectorName?: string;
  runId: string;
  quarantineId: string;
  /** Why the cleanup was held, e.g. "the read returned nobody while 120 users are linked". */
  reason: string;
  /** How many users the cleanup would have touched. */
  affected: number;
  /** Up to 10 of them, by label; the rest are counted in `affected`. */
  sample: string[];
  /** The quarantine in the UI, when a public URL is configured. */
  link?: string;
}

export type NotificationEvent = RunFailedEvent | QuarantineEvent;

/** What a channel subscribes to: a failed run, a partial run (off by default), a quarantine. */
export const EVENT_TYPES = ['run-failed', 'run-partial', 'quarantine'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The subscription an event falls under. */
export function eventTypeOf(e: NotificationEvent): EventType {
  if (e.kind === 'quarantine') return 'quarantine';
  return e.status === 'partial' ? 'run-partial' : 'run-failed';
}

/** Most sample labels a message lists. */
export const SAMPLE_LIMIT = 10;
