// Checkpoints of Okta's incremental reads. Okta has no change feed for users; what it has is
// `lastUpdated`, which a filter can compare. A round asks for users updated at or after the
// checkpoint's instant `at`, which is a little before the previous round began (Okta's clock,
// from its Date header), so a change made while that round read is read again rather than
// lost; `seen` holds the versions (id → lastUpdated) already delivered at or after `at`, so a
// user is not returned twice for the same change. The checkpoint also carries a digest of the
// query and the scope settings: read with another one, it is CHECKPOINT_EXPIRED.
import { createHash } from 'node:crypto';
import { IdsyncError } from '../../core/errors.ts';

export interface OktaCheckpoint {
  at: string;
  seen: Record<string, string>;
  digest: string;
}

const PREFIX = 'okta1.';

export function digestOf(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

export function encodeCheckpoint(c: OktaCheckpoint): string {
  return PREFIX + Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCheckpoint(text: string, digest: string): OktaCheckpoint {
  const expired = (why: string) => new IdsyncError('CHECKPOINT_EXPIRED', `the Okta checkpoint cannot be continued: ${why}`, { hint: 'the next run reads every user' });
  if (!text.startsWith(PREFIX)) throw expired('it is not an Okta checkpoint');
  let c: OktaCheckpoint;
  try {
    c = JSON.parse(Buffer.from(text.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw expired('it is garbled');
  }
  if (typeof c?.at !== 'string' || Number.isNaN(Date.parse(c.at)) || typeof c.seen !== 'object' || c.seen === null) throw expired('it is garbled');
  if (c.digest !== digest) throw expired('the mapping or the connector settings changed since it was taken');
  return c;
}

/** How far before a round's start the next round looks again (Okta's Date header has second precision). */
export const OVERLAP_MS = 2_000;
