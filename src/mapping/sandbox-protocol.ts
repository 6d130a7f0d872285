// Messages between the main thread (sandbox.ts) and the evaluation worker (sandbox-worker.ts).
import type { JsonataFailure } from './jsonata-env.ts';

/** `$targetUsername` answers the main thread already gave: false means "not known yet". */
export type KnownUsernames = Record<string, string | null | false>;

export interface EvaluationJob {
  source: string;
  timeoutMs: number;
  input: Record<string, unknown>;
  known: KnownUsernames;
}

export type EvaluationAnswer =
  /** `json` is the result as JSON text, undefined for no result; `fn` when the result is a function. */
  | { kind: 'value'; json?: string; fn?: boolean }
  | { kind: 'failure'; failure: JsonataFailure }
  /** `$targetUsername` was asked about ids the main thread has not answered: look them up, evaluate again. */
  | { kind: 'needs'; ids: string[] };

export interface BatchRequest {
  batch: number;
  jobs: EvaluationJob[];
}

export interface BatchReply {
  batch: number;
  answers: EvaluationAnswer[];
}

/** Slot in the shared progress array: 1 + the index of the job the worker is evaluating. */
export const PROGRESS_JOB = 0;
/** Slot in the shared progress array: the batch that index belongs to. */
export const PROGRESS_BATCH = 1;
