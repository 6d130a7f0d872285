// Syncs one source user into one target in two steps, so that a page's intents can be recorded
// between them (see src/store/intents.ts): prepareUserSync finds the target user (link, then
// username, then email) and plans the changes, reading but never writing; executeWrite sends
// the planned write and computes the link from what the target confirmed.
import type { FieldChange, FieldValues, ItemOperation, SourceUser, TargetUserRef } from '../core/types.ts';
import type { MappedUser } from '../mapping/api.ts';
import type { Link } from '../store/links.ts';
import type { LinkRepo } from '../store/links.ts';
import type { TargetRuntime } from './runtime.ts';
import { applyToSnapshot, missingForCreate, plan, type Plan } from './planner.ts';
import { errorText } from '../core/errors.ts';
import type { WriteIntent } from '../store/intents.ts';
import { groupNames } from '../targets/group-delta.ts';
import { describeAccount, describeKey, firstContact, nameTheHolder, renameCollision, type MatchedBy } from './matching.ts';

export interface UserOutcome {
  operation: ItemOperation;
  changes: FieldChange[];
  error?: string;
  matched: MatchedBy;
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
  /**
   * Whether the target confirmed every change of the write: only then is the user's intent
   * cleared. A write with a failed field leaves the user's state unknown until it is re-read.
   */
  confirmed?: boolean;
  /** The error that failed the user, for the error policy (see CircuitBreaker). */
  cause?: unknown;
}

/** A planned write, ready to send once its intent is recorded. */
export interface PendingWrite {
  input: UserSyncInput;
  op: 'create' | 'update';
  ref: TargetUserRef | undefined;
  planned: Plan;
  snapshotBase: FieldValues;
  matched: UserOutcome['matched'];
  details: Record<string, unknown>;
}

export type Prepared = { outcome: UserOutcome; write?: undefined } | { write: PendingWrite; outcome?: undefined };

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

/** Finds and plans; a user that needs no write (or a dry run) ends here with its outcome. */
export async function prepareUserSync(input: UserSyncInput): Promise<Prepared> {
  try {
    const prepared = await prepareFields(input);
    return prepared.outcome ? { outcome: withMappingErrors(prepared.outcome, input.mapped) } : prepared;
  } catch (e) {
    return { outcome: withMappingErrors(failedOutcome(input, e), input.mapped) };
  }
}

/** Sends a planned write; the outcome's link holds what the target confirmed. */
export async function executeWrite(w: PendingWrite): Promise<UserOutcome> {
  try {
    return withMappingErrors(await writeFields(w), w.input.mapped);
  } catch (e) {
    // Cut short: what reached the target is unknown, so the intent stays (re-read next run).
    const failed = { ...failedOutcome(w.input, e), matched: w.matched, targetKey: w.ref?.key ?? w.input.link?.targetKey, wrote: true };
    // A create refused for a taken username or e-mail says whose it is.
    if (w.op === 'create' && failed.error) failed.error = await nameTheHolder(w.input.target.connector, failed.error, w.planned.effective, undefined).catch(() => failed.error!);
    return withMappingErrors(failed, w.input.mapped);
  }
}

/** What is about to be written, as an intent (recorded before the write is sent). */
export function intentOf(w: PendingWrite, runId: string): WriteIntent {
  const groups = w.planned.changes.find((c) => c.field === 'groups');
  return {
    connectorId: w.input.connectorId,
    targetId: w.input.target.config.id,
    sourceId: w.input.user.id,
    runId,
    op: w.op,
    targetKey: w.ref?.key ?? null,
    username: asString(w.planned.effective['user.username']) ?? w.ref?.username ?? null,
    email: asString(w.planned.effective['user.email']) ?? null,
    label: w.input.label,
    groupsAdd: w.op === 'create' ? groupNames(w.planned.effective.groups) : (groups?.add ?? []),
  };
}

function failedOutcome(input: UserSyncInput, e: unknown): UserOutcome {
  return {
    operation: 'failed',
    changes: [],
    error: errorText(e),
    matched: input.link ? 'link' : 'none',
    targetKey: input.link?.targetKey,
    username: input.link?.targetUsername ?? null,
    wrote: false,
    cause: e,
  };
}

/**
 * A rule that failed for this user (too long, wrong type, expression error) fails the user,
 * but the other fields still apply: one bad value must not hold back the rest.
 */
function withMappingErrors(outcome: UserOutcome, mapped: MappedUser): UserOutcome {
  if (mapped.errors.length === 0) return outcome;
  const mappingErrors = mapped.errors.map((e) => ({ field: e.field, before: undefined, after: undefined, error: e.message }) as FieldChange);
  const errors = mappingErrors.map((c) => `${c.field}: ${c.error}`);
  return {
    ...outcome,
    operation: 'failed',
    changes: [...outcome.changes, ...mappingErrors],
    error: [...errors, ...(outcome.error ? [outcome.error] : [])].join('; '),
  };
}

async function prepareFields(input: UserSyncInput): Promise<Prepared> {
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
    const contact = await firstContact({
      policy: t.matching,
      connector: t.connector,
      fields: t.fields,
      user,
      mapped: mapped.values,
      ownerOf: (key) => input.links.byTargetKey(input.connectorId, t.config.id, key),
    });
    if (contact.kind === 'collision') {
      return { outcome: { operation: 'failed', changes: [], error: contact.error, matched: 'none', username: null, wrote: false, details: { ...details, collision: contact.accounts } } };
    }
    if (contact.kind === 'match') {
      const found = contact.hit.account;
      ref = found.ref;
      matched = contact.hit.key.lookup;
      details.match = `${input.dryRun ? 'would link to' : 'linked to'} ${describeAccount(found.ref)} by ${contact.by}`;
      current = pick(found.values, t.fields);
      snapshotBase = { ...current };
      groupsAreActual = true;
      linkDirty = true;
    } else {
      const none = t.matching.never
        ? 'matching is set to never link an existing account'
        : contact.tried.length
          ? `no account has ${contact.tried.join(' or ')}`
          : `the user has no value for the match keys (${t.matching.keys.map(describeKey).join(', ') || 'none this target supports'})`;
      if (!t.config.createUsers || !t.capabilities.canCreateUsers) {
        return { outcome: {
          operation: 'skipped',
          changes: [],
          error: t.capabilities.canCreateUsers
            ? `no matching user in the target (${none}), and creating users is switched off for this target`
            : `no matching user in the target (${none}), and ${t.capabilities.kind} cannot create users`,
          matched: 'none',
          username: null,
          wrote: false,
        } };
      }
      details.match = `${input.dryRun ? 'would create' : 'created'}: ${none}`;
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

  if (op === 'update' && ref) {
    // A new username or e-mail that another account holds: name that account, change nothing.
    const renamed: FieldValues = {};
    for (const c of planned.changes) if ((c.field === 'user.username' || c.field === 'user.email') && typeof c.after === 'string') renamed[c.field] = c.after;
    const taken = Object.keys(renamed).length ? await renameCollision({ policy: t.matching, connector: t.connector, fields: [], self: ref, changes: renamed }) : null;
    if (taken) {
      return { outcome: { operation: 'failed', changes: planned.changes.map((c) => (c.field in renamed ? { ...c, error: taken } : c)), error: taken, matched, targetKey: ref.key, username: ref.username ?? null, wrote: false, details: Object.keys(details).length ? details : undefined } };
    }
  }

  const missing = op === 'create' ? missingForCreate(t.capabilities, planned.effective) : [];
  if (missing.length > 0) {
    const needs = t.capabilities.fields.filter((f) => f.requiredOnCreate && !f.name.endsWith('.')).map((f) => f.name);
    return { outcome: {
      operation: 'failed',
      changes: planned.changes,
      error: `cannot create the user in ${t.config.id}: the mapping gives ${missing.join(', ')} no value for this user, and ${t.capabilities.kind} needs ${needs.join(', ')} to create one; fill the attribute in the identity provider or give the rule a default`,
      matched,
      username: null,
      wrote: false,
    } };
  }

  if (planned.changes.length === 0) {
    const applied = applyToSnapshot(snapshotBase, [], new Set(), planned.effective);
    return { outcome: {
      operation: 'unchanged',
      changes: [],
      matched,
      targetKey: ref?.key,
      username: ref?.username ?? null,
      link: !input.dryRun && ref ? baseLink(input, ref.key, ref.username ?? null, applied, managedGroups) : undefined,
      linkDirty: linkDirty || link?.label !== input.label,
      details: Object.keys(details).length ? details : undefined,
      wrote: false,
      confirmed: true,
    } };
  }

  if (input.dryRun) {
    return { outcome: {
      operation: op === 'create' ? 'created' : 'updated',
      changes: planned.changes,
      matched,
      targetKey: ref?.key,
      username: ref?.username ?? asString(planned.effective['user.username']) ?? null,
      details: { ...details, simulated: true },
      wrote: false,
    } };
  }
  return { write: { input, op, ref, planned, snapshotBase, matched, details } };
}

async function writeFields(w: PendingWrite): Promise<UserOutcome> {
  const { input, op, ref, planned, snapshotBase, matched, details } = w;
  const t = input.target;
  const result = await t.connector.write({
    op,
    ref,
    desired: planned.effective,
    changes: planned.changes,
    options: { createMissingGroups: t.config.createMissingGroups, mayAdopt: (found) => mayAdopt(input, found) },
  });
  const failures = result.fields.filter((f) => !f.ok);
  // A field refused because another account holds the value says which account that is.
  for (const f of failures) if (f.error && (f.field === 'user.username' || f.field === 'user.email')) f.error = await nameTheHolder(t.connector, f.error, { [f.field]: planned.effective[f.field] ?? null }, result.ref.key);
  const skipped = result.fields.filter((f) => f.ok && f.skipped);
  const okFields = new Set(result.fields.filter((f) => f.ok && !f.skipped).map((f) => f.field));
  // A field the target did not report on was written along with the account itself.
  for (const c of planned.changes) if (!result.fields.some((f) => f.field === c.field)) okFields.add(c.field);
  const applied = applyToSnapshot(snapshotBase, planned.changes, okFields, planned.effective);
  const username = result.ref.username ?? ref?.username ?? asString(planned.effective['user.username']) ?? null;
  if (skipped.length) details.skipped = Object.fromEntries(skipped.map((f) => [f.field, f.skipped]));
  // The account exists now even when a later field failed: the journal must say so.
  if (op === 'create' && failures.length > 0) details.accountCreated = true;
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
    link: baseLink(input, result.ref.key, username, applied, input.link?.managedGroups ?? []),
    linkDirty: true,
    details: Object.keys(details).length ? details : undefined,
    wrote: true,
    confirmed: failures.length === 0,
  };
}

function baseLink(input: UserSyncInput, key: string, username: string | null, applied: FieldValues, managedGroups: string[]): Link {
  return {
    connectorId: input.connectorId,
    targetId: input.target.config.id,
    sourceId: input.user.id,
    targetKey: key,
    targetUsername: username,
    label: input.label,
    applied,
    managedGroups: Array.isArray(applied.groups) ? (applied.groups as string[]) : managedGroups,
    missingSince: null,
    fingerprint: null,
    // Cleared by the engine once the user is fully in step again (a return undone); kept until then.
    cleanup: input.link?.cleanup ?? null,
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

/**
 * Whether a create that found its username taken may adopt that account (the target asks,
 * UserWrite.options.mayAdopt): not under matching `never`, and never an account already linked
 * to another source user (a collision naming both).
 */
async function mayAdopt(input: UserSyncInput, found: TargetUserRef): Promise<string | null> {
  const t = input.target;
  if (t.matching.never) return `matching is set to never link an existing account, and ${describeAccount(found)} exists already`;
  const owner = await input.links.byTargetKey(input.connectorId, t.config.id, found.key);
  if (owner && owner.sourceId !== input.user.id) return `collision: ${describeAccount(found)} is already linked to another source user (${owner.label ?? owner.sourceId}); nothing was linked or changed`;
  return null;
}
