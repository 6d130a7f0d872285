// A source user as the shadow keeps it, and back: the record, its fingerprint, its manager's id.
import { hash } from 'node:crypto';
import type { SourceUser } from '../core/types.ts';
import type { ShadowRecord, TombstoneReason } from '../store/shadow.ts';

export function recordOf(u: SourceUser): ShadowRecord {
  const r: ShadowRecord = { attrs: u.attrs };
  if (u.groups !== undefined) r.groups = u.groups;
  if (u.manager !== undefined) r.manager = u.manager;
  if (u.keys !== undefined) r.keys = u.keys;
  return r;
}

/** The record as a source user again (a copy: the projection adds the manager view to `attrs`). */
export function userOf(sourceId: string, r: ShadowRecord): SourceUser {
  const u: SourceUser = { id: sourceId, attrs: { ...r.attrs } };
  if (r.groups !== undefined) u.groups = r.groups;
  if (r.manager !== undefined) u.manager = r.manager;
  if (r.keys !== undefined) u.keys = r.keys;
  return u;
}

/**
 * Identifies a record and its tombstone: an ingest that brings the same fingerprint changes
 * nothing and writes nothing. A tombstone's fingerprint is its reason alone, so the same removal
 * reported twice (a re-read delta page) is no change either.
 */
export function shadowFingerprint(record: ShadowRecord | null, tombstone: TombstoneReason | null, managerId: string | null = null): string {
  if (tombstone) return `gone:${tombstone}`;
  // The resolved manager id is part of it: a reference by key that resolves later (the manager
  // read after the report) rewrites the row, so the manager's reports are found by its id.
  return hash('sha1', `${JSON.stringify(record)}\u0000${managerId ?? ''}`, 'base64url');
}

/** The manager's id when the reference names it (a reference by key is resolved through the alias keys). */
export function managerRefId(u: Pick<SourceUser, 'manager'>): string | null {
  const m = u.manager;
  return m && 'id' in m ? m.id : null;
}

/**
 * The shadow fingerprint of the record a user object was ingested from, so the projection's link
 * fingerprint builds on it instead of serializing the record a second time. Kept on the object
 * itself under a symbol, non-enumerable (a spread or JSON of the user does not carry it, as a
 * WeakMap entry would not): a WeakMap entry per user read cost ~4× as much, most of it in the
 * garbage collector, which must treat every entry as an ephemeron.
 */
const INGESTED_AS = Symbol('recordFingerprint');

export function noteRecordFingerprint(u: SourceUser, fingerprint: string): void {
  Object.defineProperty(u, INGESTED_AS, { value: fingerprint, writable: true, configurable: true });
}

export function recordFingerprintOf(u: SourceUser): string | undefined {
  return (u as SourceUser & { [INGESTED_AS]?: string })[INGESTED_AS];
}
