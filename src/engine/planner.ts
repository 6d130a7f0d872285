// The planner decides, for one user and one target, which fields to write: it compares what the
// mapping wants with what the target has (the last-applied snapshot, or the target's actual
// values on reconcile / first contact) and applies the rule flows. Pure functions, no I/O.
import type { FieldChange, FieldValues, Json, MappingFlow, TargetCapabilities, TargetFieldName } from '../core/types.ts';
import { groupKey } from '../core/group-key.ts';

export interface PlanInput {
  op: 'create' | 'update';
  /** Desired values from the mapper (null = clear). */
  desired: FieldValues;
  flows: Record<TargetFieldName, MappingFlow>;
  /** What the target is believed to hold: snapshot or actual values. */
  current: FieldValues;
  /** Groups idsync added earlier; only these may be removed. */
  managedGroups: readonly string[];
  /**
   * Whether `current.groups` is the user's complete actual membership (reconcile / first
   * contact) rather than the snapshot of groups idsync manages.
   */
  groupsAreActual: boolean;
}

export interface Plan {
  changes: FieldChange[];
  /** The desired values that apply after flows (what a create sends). */
  effective: FieldValues;
  /** ifEmpty fields whose current value is unknown: the caller reads them and plans again. */
  unknownIfEmpty: TargetFieldName[];
}

export function plan(input: PlanInput): Plan {
  const changes: FieldChange[] = [];
  const effective: FieldValues = {};
  const unknownIfEmpty: TargetFieldName[] = [];

  for (const [field, want] of Object.entries(input.desired)) {
    const flow = input.flows[field] ?? 'always';
    if (flow === 'onCreate' && input.op !== 'create') continue;
    if (flow === 'ifEmpty' && input.op !== 'create') {
      if (!(field in input.current)) {
        unknownIfEmpty.push(field);
        continue;
      }
      if (!isEmpty(input.current[field])) continue;
    }
    effective[field] = want;
    if (field === 'groups') {
      const change = planGroups(want, input);
      if (change) changes.push(change);
      continue;
    }
    const have = input.current[field];
    if (input.op === 'create') {
      if (!isEmpty(want)) changes.push({ field, before: undefined, after: want });
    } else if (!sameValue(have, want) && !(want === null && isEmpty(have))) {
      changes.push({ field, before: have, after: want });
    }
  }
  return { changes, effective, unknownIfEmpty };
}

/** Group names compare without regard to case (groupKey), so a case difference does not show up as a change on every run. */
function planGroups(want: Json, input: PlanInput): FieldChange | undefined {
  const key = groupKey;
  const desired = new Map((Array.isArray(want) ? (want as string[]) : []).map((g) => [key(g), g]));
  const current = new Map((Array.isArray(input.current.groups) ? (input.current.groups as string[]) : []).map((g) => [key(g), g]));
  const managed = new Set(input.managedGroups.map(key));
  const add = [...desired].filter(([k]) => !current.has(k)).map(([, g]) => g).sort();
  // Without the actual membership we only know the groups idsync manages; every one of them
  // that is no longer desired goes. With the actual membership, manual groups stay.
  const remove = [...current]
    .filter(([k]) => !desired.has(k) && (!input.groupsAreActual || managed.has(k)))
    .map(([, g]) => g)
    .sort();
  if (add.length === 0 && remove.length === 0) return undefined;
  const before = [...current.values()].sort();
  const removed = new Set(remove.map(key));
  const after = [...before.filter((g) => !removed.has(key(g))), ...add].sort();
  return { field: 'groups', before, after, add, remove };
}

/**
 * The fields a target needs to create a user (its capabilities mark them `requiredOnCreate`, as
 * the vendor documents them) that the planned values leave empty. The one check of a create's
 * needs, made while planning, so a dry run reports such a user failed exactly as the real run.
 */
export function missingForCreate(capabilities: TargetCapabilities, effective: FieldValues): TargetFieldName[] {
  return capabilities.fields.filter((f) => f.requiredOnCreate && !f.name.endsWith('.') && isEmpty(effective[f.name])).map((f) => f.name);
}

export function isEmpty(v: Json | undefined): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

/** Deep equality for JSON values; object key order does not matter. */
export function sameValue(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as Json[];
    return a.length === bb.length && a.every((x, i) => sameValue(x, bb[i]));
  }
  const ao = a as Record<string, Json>;
  const bo = b as Record<string, Json>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => k in bo && sameValue(ao[k], bo[k]));
}

/**
 * The snapshot after a write: the old one with every successfully written field's new value.
 * `groups` in a snapshot is the set idsync manages (the desired groups once they are in place),
 * never manual memberships, so a later snapshot-based plan cannot remove a manual group.
 */
export function applyToSnapshot(
  snapshot: FieldValues,
  changes: FieldChange[],
  okFields: Set<TargetFieldName>,
  effective: FieldValues,
): FieldValues {
  const next: FieldValues = { ...snapshot };
  for (const c of changes) {
    if (!okFields.has(c.field) || c.field === 'groups') continue;
    if (c.after === undefined || c.after === null) delete next[c.field];
    else next[c.field] = c.after;
  }
  const groupsChange = changes.find((c) => c.field === 'groups');
  if ('groups' in effective && (!groupsChange || okFields.has('groups'))) {
    next.groups = [...((effective.groups as string[] | null) ?? [])].sort();
  }
  return next;
}
