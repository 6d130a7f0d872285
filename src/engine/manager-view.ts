// The manager as the mapping reads it: `attrs.manager = {id, ...the manager's attributes}`,
// resolved through the shadow (by id, or by another key through the alias keys) so that a
// change of the manager's own record reaches the `manager.*` values of every report. When the
// manager is not in the shadow (outside the connector's filter, or not read yet), what the
// source read along with the reference (`ref.attrs`) stands in.
import type { SourceUser } from '../core/types.ts';
import type { ShadowRecord, ShadowRepo } from '../store/shadow.ts';

/** A manager the provider deleted (soft or for good): its reports have no manager any more, as Graph answers. */
export const GONE = Symbol('gone');

/**
 * Managers' shadow attributes read in this run (null: not in the shadow), so a manager of many
 * reports is read and parsed once per run. The run drops an entry when it writes that row.
 */
export class ManagerCache {
  private readonly known = new Map<string, Record<string, unknown> | null | typeof GONE>();
  get(id: string): Record<string, unknown> | null | typeof GONE | undefined {
    return this.known.get(id);
  }
  set(id: string, attrs: Record<string, unknown> | null | typeof GONE): void {
    // Bounded: a huge directory re-reads managers rather than holding them all.
    if (this.known.size >= 50_000) this.known.clear();
    this.known.set(id, attrs);
  }
  forget(ids: readonly string[]): void {
    for (const id of ids) this.known.delete(id);
  }
}

/**
 * `fields`: the manager's attributes the mappings read (null: all); see Runtime.managerFields.
 * Returns the ids of users whose manager is named by a key (e-mail, DN, username) that names
 * nobody in the shadow yet: the manager may come on a later page of this run, so the engine
 * holds them to the end of the read and attaches their views again then (engine.resolvePending).
 */
export async function attachManagerViews(shadow: ShadowRepo, connectorId: string, users: SourceUser[], batch: ReadonlyMap<string, ShadowRecord>, fields: readonly string[] | null, cache: ManagerCache): Promise<string[]> {
  const unresolved: string[] = [];
  // This runs for every user of a full read: one pass for the references, one Map look-up per
  // manager id, no intermediate arrays when (as with Entra) every reference names an id.
  let keyed: Map<'dn' | 'email' | 'username', string[]> | undefined;
  for (const u of users) {
    const m = u.manager;
    if (m && 'key' in m) {
      keyed ??= new Map();
      (keyed.get(m.key) ?? keyed.set(m.key, []).get(m.key)!).push(m.value);
    }
  }
  const byKey = new Map<string, string>();
  if (keyed) for (const [type, values] of keyed) for (const [v, id] of await shadow.resolveKeys(connectorId, type, values)) byKey.set(`${type}\u0000${v}`, id);
  const idOf = (m: NonNullable<SourceUser['manager']>): string | undefined => ('id' in m ? m.id : byKey.get(`${m.key}\u0000${m.value.toLowerCase()}`));
  // Managers neither in this batch nor cached: read from the shadow in one query.
  let missing: Set<string> | undefined;
  for (const u of users) {
    if (!u.manager) continue;
    const id = idOf(u.manager);
    if (id && !batch.has(id) && cache.get(id) === undefined) (missing ??= new Set()).add(id);
  }
  if (missing) {
    const rows = await shadow.getMany(connectorId, [...missing]);
    for (const id of missing) {
      const row = rows.get(id);
      cache.set(id, row?.tombstone === 'deleted' || row?.tombstone === 'soft-deleted' ? GONE : (row?.record?.attrs ?? null));
    }
  }
  for (const u of users) {
    const m = u.manager;
    if (m === undefined) continue;
    if (m === null) {
      u.attrs.manager = null;
      continue;
    }
    const id = idOf(m);
    if (!id) unresolved.push(u.id);
    const known = id ? (batch.get(id)?.attrs ?? cache.get(id) ?? null) : null;
    if (known === GONE) {
      u.attrs.manager = null;
      continue;
    }
    u.attrs.manager = viewOf((known ?? m.attrs) ?? {}, fields, id);
  }
  return unresolved;
}

/**
 * The view: the manager's attributes (only `fields` when given), without the manager's own
 * manager (not part of its view, and may be attached to it already), and its id. Picked field by
 * field, without copying the whole record first: this runs once per user with a manager.
 */
function viewOf(attrs: Record<string, unknown>, fields: readonly string[] | null, id: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (fields) {
    for (const f of fields) if (f !== 'manager' && attrs[f] !== undefined) out[f] = attrs[f];
  } else {
    for (const f in attrs) if (f !== 'manager' && Object.prototype.hasOwnProperty.call(attrs, f)) out[f] = attrs[f];
  }
  // Last, as `{ ...attrs, id }` put it (an `id` among the attributes keeps its place, as there):
  // the view is part of the link fingerprint, so its JSON must not change with this code.
  out.id = id;
  return out;
}
