// Errors carry a code that decides what the engine does with them: the one table of reactions
// is src/core/error-policy.ts. NOT_FOUND is the only code that may mean "gone".

export type ErrorCode =
  | 'TRANSIENT'
  | 'RATE_LIMITED'
  | 'BAD_REQUEST'
  | 'CONFLICT'
  | 'NOT_FOUND'
  /** The provider no longer accepts an incremental read's checkpoint (expired, reset): read in full. */
  | 'CHECKPOINT_EXPIRED'
  | 'AUTH'
  | 'CONFIG'
  | 'INTERNAL';

export class IdsyncError extends Error {
  readonly code: ErrorCode;
  /** HTTP status of the response that caused it, when there was one. */
  readonly status?: number;
  /** What the administrator can do about it. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, opts: { status?: number; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'IdsyncError';
    this.code = code;
    this.status = opts.status;
    this.hint = opts.hint;
  }

  /** Message plus hint, as shown to a person. */
  describe(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

export function isIdsyncError(e: unknown, code?: ErrorCode): e is IdsyncError {
  return e instanceof IdsyncError && (code === undefined || e.code === code);
}

export function errorText(e: unknown): string {
  if (e instanceof IdsyncError) return e.describe();
  if (e instanceof Error) return e.message;
  return String(e);
}
