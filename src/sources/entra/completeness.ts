// Whether a listing read everything Microsoft Graph says there is. A page answered 200 with
// `value: []` and no nextLink looks exactly like the end of the list; only a count from Graph
// itself tells the two apart. Graph counts (`/users/$count`, `@odata.count` with `$count=true`)
// come from an eventually consistent index, so a complete read may differ from them by a few
// users created or deleted meanwhile: only a read short by more than the tolerance is taken for
// incomplete, and an incomplete read fails the run before anyone is reported missing or loses a
// group membership.
import { IdsyncError } from '../../core/errors.ts';

/**
 * How far a read may fall short of Graph's count and still be complete: the larger of 5 and
 * 1% of the count (the index lags by seconds to minutes; a busy tenant changes that much).
 */
export const COUNT_TOLERANCE = { atLeast: 5, fraction: 0.01 } as const;

export function countTolerance(expected: number): number {
  return Math.max(COUNT_TOLERANCE.atLeast, Math.ceil(expected * COUNT_TOLERANCE.fraction));
}

/** `@odata.count` of a first page read with `$count=true`; undefined when absent or not a count. */
export function odataCount(page: unknown): number | undefined {
  const n = (page as { '@odata.count'?: unknown } | undefined)?.['@odata.count'];
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Throws when `read` falls short of `expected` beyond the tolerance. `what` names the list
 * ("users", "the members of group 'dept-engineering'"); `expected` undefined means Graph gave
 * no count to compare with (a filter it cannot count): nothing to check.
 */
export function assertCompleteRead(what: string, read: number, expected: number | undefined): void {
  if (expected === undefined || read >= expected - countTolerance(expected)) return;
  throw new IdsyncError(
    'TRANSIENT',
    `the read of ${what} is incomplete: Microsoft Graph counts ${expected} but its pages returned ${read} ` +
      `(more than ${countTolerance(expected)} short, a page answered empty or cut short); nobody is reported missing and no group membership is removed in this run`,
    { hint: 'Microsoft Graph answered a short page; run the sync again (it usually passes). If it keeps failing, check Graph service health' },
  );
}
