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
  const withRef = users.filter((u) => u.manager !== undefined);
  const unresolved: string[] = [];
  if (withRef.length === 0) return unresolved;
  const byKey = new Map<string, string>();
  const keyed = withRef.filter((u) => u.manager && 'key' in u.manager);
  for (const type of new Set(keyed.map((u) => (u.manager as { key: 'dn' | 'email' | 'username' }).key))) {
    const values = keyed.filter((u) => (u.manager as { key: string }).key === type).map((u) => (u.manager as { value: string }).value);
    for (const [v, id] of await shadow.resolveKeys(connectorId, type, values)) byKey.set(`${type}\u0000${v}`, id);
  }
  const idOf = (u: SourceUser): string | undefined => {
    const m = u.manager;
    if (!m) return undefined;
    return 'id' in m ? m.id : byKey.get(`${m.key}\u0000${m.value.toLowerCase()}`);
  };
  const ids = withRef.map(idOf).filter((id): id is string => !!id && !batch.has(id) && cache.get(id) === undefined);
  if (ids.length > 0) {
    const rows = await shadow.getMany(connectorId, ids);
    for (const id of ids) {
      const row = rows.get(id);
      cache.set(id, row?.tombstone === 'deleted' || row?.tombstone === 'soft-deleted' ? GONE : (row?.record?.attrs ?? null));
    }
  }
  for (const u of withRef) {
    const m = u.manager!;
    if (m === null) {
      u.attrs.manager = null;
      continue;
    }
    const id = idOf(u);
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
