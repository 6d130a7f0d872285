// Syncs one source user into one target: find the target user (link, then username, then
// email), plan the changes, write them (unless simulating) and compute the new link.
import type { FieldChange, FieldValues, ItemOperation, SourceUser, TargetUserRef } from '../core/types.ts';
import type { MappedUser } from '../mapping/api.ts';
import type { Link } from '../store/links.ts';
import type { LinkRepo } from '../store/links.ts';
import type { TargetRuntime } from './runtime.ts';
import { applyToSnapshot, plan, type Plan } from './planner.ts';
import { errorText, isRunFatal } from '../core/errors.ts';

export interface UserOutcome {
  operation: ItemOperation;
  changes: FieldChange[];
  error?: string;
  matched: 'link' | 'username' | 'email' | 'none';
  targetKey?: string;
  /** The link as it stands after this user (absent in a dry run or when the user is not in the target). */
  link?: Link;
  /** Whether `link` differs from the stored one; an unchanged user with a clean link needs no store write. */
  linkDirty?: boolean;
  /** The target username now linked to this user, null when the user is not in the target. */
  username: string | null;
  details?: Record<string, unknown>;
  /** Whether a write request was sent. */
  wrote: boolean;
}

export interface UserSyncInput {
  connectorId: string;
  user: SourceUser;
  label: string;
  target: TargetRuntime;
  link: Link | undefined;
  mapped: MappedUser;
  dryRun: boolean;
  reconcile: boolean;
  links: LinkRepo;
}

export async function syncUserToTarget(input: UserSyncInput): Promise<UserOutcome> {
  try {
    return await syncUnsafe(input);
  } catch (e) {
    if (isRunFatal(e)) throw e;
    return {
      operation: 'failed',
      changes: [],
      error: errorText(e),
      matched: input.link ? 'link' : 'none',
      targetKey: input.link?.targetKey,
      username: input.link?.targetUsername ?? null,
      wrote: false,
    };
  }
}

async function syncUnsafe(input: UserSyncInput): Promise<UserOutcome> {
  const { user, target: t, mapped } = input;
  // A rule that failed for this user (too long, wrong type, expression error) fails the user,
  // but the other fields still apply: one bad value must not hold back the rest.
  const mappingErrors = mapped.errors.map((e) => ({ field: e.field, before: undefined, after: undefined, error: e.message }) as FieldChange);
  const outcome = await syncFields(input);
  if (mappingErrors.length === 0) return outcome;
  const errors = mappingErrors.map((c) => `${c.field}: ${c.error}`);
  return {
    ...outcome,
    operation: 'failed',
    changes: [...outcome.changes, ...mappingErrors],
    error: [...errors, ...(outcome.error ? [outcome.error] : [])].join('; '),
  };
}

async function syncFields(input: UserSyncInput): Promise<UserOutcome> {
  const { user, target: t, mapped } = input;
  let link = input.link;
  let ref: TargetUserRef | undefined;
  let current: FieldValues = {};
  let snapshotBase: FieldValues = {};
  let groupsAreActual = false;
  let managedGroups: string[] = [];
  let matched: UserOutcome['matched'] = 'none';
  let linkDirty = false;
  const details: Record<string, unknown> = {};

  if (link) {
    ref = { key: link.targetKey, username: link.targetUsername ?? undefined };
    managedGroups = link.managedGroups;
    matched = 'link';
    if (input.reconcile) {
      const actual = await t.connector.readUser(ref, t.fields);
      if (actual) {
        ref = actual.ref;
        current = pick(actual.values, t.fields);
        snapshotBase = { ...current };
        groupsAreActual = true;
        linkDirty = true;
      } else {
        details.note = 'the linked user no longer exists in the target; looking it up again';
        link = undefined;
        ref = undefined;
      }
    } else {
      current = link.applied;
      snapshotBase = link.applied;
    }
    if (link?.missingSince) linkDirty = true;
  }

  let op: 'create' | 'update' = 'update';
  if (!link) {
    const username = asString(mapped.values['user.username']);
    const email = asString(mapped.values['user.email']);
    const found = await t.connector.findUser({ username, email }, t.fields);
    if (found) {
      const owner = await input.links.byTargetKey(input.connectorId, t.config.id, found.ref.key);
      if (owner && owner.sourceId !== user.id) {
        return {
          operation: 'failed',
          changes: [],
          error: `the target user ${found.ref.username ?? found.ref.key} is already linked to another source user (${owner.label ?? owner.sourceId}); two source users map to the same account`,
          matched: 'none',
          username: null,
          wrote: false,
        };
      }
      ref = found.ref;
      matched = username && found.ref.username?.toLowerCase() === username.toLowerCase() ? 'username' : 'email';
      current = pick(found.values, t.fields);
      snapshotBase = { ...current };
      groupsAreActual = true;
      linkDirty = true;
    } else {
      if (!t.config.createUsers || !t.capabilities.canCreateUsers) {
        return {
          operation: 'skipped',
          changes: [],
          error: t.capabilities.canCreateUsers
            ? 'no matching user in the target, and creating users is switched off for this target'
            : `no matching user in the target, and ${t.capabilities.kind} cannot create users`,
          matched: 'none',
          username: null,
          wrote: false,
        };
      }
      op = 'create';
    }
  }

  let planned: Plan = plan({ op, desired: mapped.values, flows: mapped.flows, current, managedGroups, groupsAreActual });
  if (planned.unknownIfEmpty.length > 0 && ref) {
    // "Only if empty" needs the target's value once; it is then kept in the snapshot.
    const actual = await t.connector.readUser(ref, planned.unknownIfEmpty);
    const observed: FieldValues = {};
    for (const f of planned.unknownIfEmpty) observed[f] = actual?.values[f] ?? null;
    current = { ...current, ...observed };
    snapshotBase = { ...snapshotBase, ...observed };
    linkDirty = true;
    planned = plan({ op, desired: mapped.values, flows: mapped.flows, current, managedGroups, groupsAreActual });
  }

  const baseLink = (key: string, username: string | null, applied: FieldValues): Link => ({
    connectorId: input.connectorId,
    targetId: t.config.id,
    sourceId: user.id,
    targetKey: key,
    targetUsername: username,
    label: input.label,
    applied,
    managedGroups: Array.isArray(applied.groups) ? (applied.groups as string[]) : managedGroups,
    missingSince: null,
    fingerprint: null,
  });

  if (planned.changes.length === 0) {
    const applied = applyToSnapshot(snapshotBase, [], new Set(), planned.effective);
    return {
      operation: 'unchanged',
      changes: [],
      matched,
      targetKey: ref?.key,
      username: ref?.username ?? null,
      link: !input.dryRun && ref ? baseLink(ref.key, ref.username ?? null, applied) : undefined,
      linkDirty: linkDirty || link?.label !== input.label,
      details: Object.keys(details).length ? details : undefined,
      wrote: false,
    };
  }

  if (input.dryRun) {
    return {
      operation: op === 'create' ? 'created' : 'updated',
      changes: planned.changes,
      matched,
      targetKey: ref?.key,
      username: ref?.username ?? asString(planned.effective['user.username']) ?? null,
      details: { ...details, simulated: true },
      wrote: false,
    };
  }

  const result = await t.connector.write({
    op,
    ref,
    desired: planned.effective,
    changes: planned.changes,
    options: { createMissingGroups: t.config.createMissingGroups },
  });
  const failures = result.fields.filter((f) => !f.ok);
  const skipped = result.fields.filter((f) => f.ok && f.skipped);
  const okFields = new Set(result.fields.filter((f) => f.ok && !f.skipped).map((f) => f.field));
  // A field the target did not report on was written along with the account itself.
  for (const c of planned.changes) if (!result.fields.some((f) => f.field === c.field)) okFields.add(c.field);
  const applied = applyToSnapshot(snapshotBase, planned.changes, okFields, planned.effective);
  const username = result.ref.username ?? ref?.username ?? asString(planned.effective['user.username']) ?? null;
  if (skipped.length) details.skipped = Object.fromEntries(skipped.map((f) => [f.field, f.skipped]));
  const changes = planned.changes.map((c) => {
    const failure = failures.find((f) => f.field === c.field);
    return failure ? { ...c, error: failure.error } : c;
  });
  return {
    operation: failures.length > 0 ? 'failed' : skipped.length === planned.changes.length ? 'skipped' : op === 'create' ? 'created' : 'updated',
    changes,
    error: failures.length ? failures.map((f) => `${f.field}: ${f.error}`).join('; ') : undefined,
    matched,
    targetKey: result.ref.key,
    username,
    link: baseLink(result.ref.key, username, applied),
    linkDirty: true,
    details: Object.keys(details).length ? details : undefined,
    wrote: true,
  };
}

function pick(values: FieldValues, fields: string[]): FieldValues {
  const out: FieldValues = {};
  for (const f of fields) if (f in values) out[f] = values[f]!;
  return out;
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
