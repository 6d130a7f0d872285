// The matching policy: how a source user with no link finds its account in a target (first
// contact), and which values must not already belong to another account (creates and renames).
//
// Decisions worth knowing:
// - Every configured key is looked up, not only until the first hit: when the username finds
//   account A and the e-mail finds account B, linking either would merge two people, so that is
//   a collision, reported with both accounts named, and nothing is written or linked.
// - An account already linked to another source user is never taken over (a collision too).
// - A username is unique in every target that has usernames, so a create or a rename to a
//   username another account holds is refused here, naming that account, before the target
//   would refuse it with a bare 400/409. An e-mail is held unique only when the policy matches
//   by e-mail: only then would a second account with it make the next first contact ambiguous.
// - A lookup that finds several accounts (Jira DC and Crowd allow one e-mail on several) comes
//   back from the target as a CONFLICT naming them: a collision as well.
import type { MatchingConfig, MatchKeyConfig, MatchLookup } from '../config/matching.ts';
import type { FieldValues, MatchKeys, SourceUser, TargetCapabilities, TargetConnector, TargetFieldName, TargetUser, TargetUserRef } from '../core/types.ts';
import { errorText, isIdsyncError } from '../core/errors.ts';
import { parsePlainPath, readUserPath } from '../mapping/paths.ts';
import { topLevelOf } from '../mapping/ast.ts';

/** How a run item's user was found: its link, a first-contact lookup, or not at all. */
export type MatchedBy = 'link' | MatchLookup | 'none';

/** One key of the policy: what is looked up, and where the value comes from. */
export interface MatchKey {
  lookup: MatchLookup;
  /** A source attribute path; absent: the value the mapping gives the lookup's field. */
  attribute?: string;
}

export interface MatchPolicy {
  /** Never link an existing account: every first-contact user is created. */
  never: boolean;
  /** Tried in this order (empty when `never`). */
  keys: MatchKey[];
  /** Lookups whose value another account must not hold (creates and renames). */
  unique: Array<'username' | 'email'>;
}

/** Which lookups a target supports: key and e-mail everywhere, a username where accounts have one. */
export function lookupsOf(capabilities: TargetCapabilities): Set<MatchLookup> {
  const out = new Set<MatchLookup>(['key', 'email']);
  if (capabilities.fields.some((f) => f.name === 'user.username')) out.add('username');
  return out;
}

/**
 * The policy for a target. Without a `matching` setting: username, then e-mail, as idsync always
 * did; a target without usernames (the Cloud products) uses e-mail alone.
 */
export function matchPolicy(config: MatchingConfig | undefined, capabilities: TargetCapabilities): MatchPolicy {
  const lookups = lookupsOf(capabilities);
  const hasUsernames = lookups.has('username');
  if (config?.by === 'never') return { never: true, keys: [], unique: hasUsernames ? ['username'] : [] };
  const configured = config?.by ? config.by.map(toKey) : [{ lookup: 'username' as const }, { lookup: 'email' as const }];
  // Validation refuses an unsupported key that was written down; the default just leaves it out.
  const keys = configured.filter((k) => lookups.has(k.lookup));
  const unique: MatchPolicy['unique'] = hasUsernames ? ['username'] : [];
  if (keys.some((k) => k.lookup === 'email')) unique.push('email');
  return { never: false, keys, unique };
}

function toKey(k: MatchKeyConfig): MatchKey {
  if (typeof k === 'string') return { lookup: k };
  const [lookup, attribute] = Object.entries(k)[0] as [MatchLookup, string];
  return { lookup, attribute };
}

/** Config problems of a target's `matching` (placed under `matching.by[i]`). */
export function matchingProblems(config: MatchingConfig | undefined, capabilities: TargetCapabilities, createUsers: boolean): Array<{ path: string; message: string; severity: 'error' | 'warning' }> {
  const out: Array<{ path: string; message: string; severity: 'error' | 'warning' }> = [];
  if (!config?.by) return out;
  if (config.by === 'never') {
    if (!createUsers || !capabilities.canCreateUsers) {
      out.push({ path: 'matching.by', message: 'with matching never and no user creation, no user can ever be synced to this target; allow createUsers or match by username or email', severity: 'error' });
    }
    return out;
  }
  const lookups = lookupsOf(capabilities);
  const seen = new Set<string>();
  for (const [i, k] of config.by.map(toKey).entries()) {
    if (!lookups.has(k.lookup)) {
      out.push({ path: `matching.by[${i}]`, message: `${capabilities.kind} accounts have no username, so they cannot be matched by one; match by email or key`, severity: 'error' });
    }
    const id = `${k.lookup}:${k.attribute ?? ''}`;
    if (seen.has(id)) out.push({ path: `matching.by[${i}]`, message: `${describeKey(k)} is listed twice; remove one`, severity: 'warning' });
    seen.add(id);
  }
  return out;
}

/** Top-level source attributes the policy reads, so the source fetches them. */
export function matchingAttributes(policy: MatchPolicy): string[] {
  // `id` and `groups` come with every record, not through the attribute list.
  return policy.keys.filter((k) => k.attribute).map((k) => topLevelOf(k.attribute!)).filter((a) => a !== 'id' && a !== 'groups');
}

export function describeKey(k: MatchKey): string {
  if (!k.attribute) return k.lookup;
  return `${k.attribute} as ${k.lookup}`;
}

/** An account as the administrator sees it: its username and its immutable key. */
export function describeAccount(ref: TargetUserRef): string {
  return ref.username ? `${ref.username} (key ${ref.key})` : `account ${ref.key}`;
}

export interface MatchHit {
  key: MatchKey;
  value: string;
  account: TargetUser;
}

export type FirstContact =
  /** One account, found by `hit` (the first key that found it); `by` says how, for the journal. */
  | { kind: 'match'; hit: MatchHit; by: string }
  /** No account: create one. `tried` lists the lookups made, for messages. */
  | { kind: 'none'; tried: string[] }
  /** Linking or creating would merge or overwrite another account: fail the user with `error`. */
  | { kind: 'collision'; error: string; accounts: Array<{ key: string; username: string | null; by: string; linkedTo?: string }> };

export interface FirstContactInput {
  policy: MatchPolicy;
  connector: Pick<TargetConnector, 'findUser'>;
  fields: TargetFieldName[];
  user: SourceUser;
  mapped: FieldValues;
  /** The source user a target key is linked to in this connector, if any. */
  ownerOf(targetKey: string): Promise<{ sourceId: string; label: string | null } | undefined>;
}

/** Finds the account of a user with no link, by the policy; reads only. */
export async function firstContact(input: FirstContactInput): Promise<FirstContact> {
  const { policy, user } = input;
  const hits: MatchHit[] = [];
  const tried: string[] = [];
  const looked = new Set<string>();
  for (const key of policy.keys) {
    const value = keyValue(key, user, input.mapped);
    if (!value) continue;
    const id = `${key.lookup}:${value.toLowerCase()}`;
    if (looked.has(id)) continue;
    looked.add(id);
    tried.push(`${describeLookup(key, value)}`);
    const found = await lookUp(input, key.lookup, value);
    if ('error' in found) return collision(found.error, hits);
    if (found.account) hits.push({ key, value, account: found.account });
  }

  const accounts = [...new Map(hits.map((h) => [h.account.ref.key, h])).values()];
  if (accounts.length > 1) {
    const named = accounts.map((h) => `${describeAccount(h.account.ref)} by ${describeLookup(h.key, h.value)}`).join(' and ');
    return collision(
      `collision: ${named} are different accounts, so linking either would merge two people; nothing was linked or changed. Merge or rename one of the accounts in the target, or change the target's matching order`,
      hits,
    );
  }
  for (const h of accounts) {
    const owner = await input.ownerOf(h.account.ref.key);
    if (owner && owner.sourceId !== user.id) {
      return collision(
        `collision: ${describeAccount(h.account.ref)}, found by ${describeLookup(h.key, h.value)}, is already linked to another source user (${owner.label ?? owner.sourceId}); two source users map to the same account, so nothing was linked or changed. Correct the identity provider's data or the mapping`,
        hits,
        owner.label ?? owner.sourceId,
      );
    }
  }
  if (accounts.length === 1) {
    const hit = hits[0]!;
    return { kind: 'match', hit, by: describeLookup(hit.key, hit.value) };
  }

  // No account to link: a create must not take a unique value another account holds.
  for (const lookup of policy.unique) {
    const value = asString(input.mapped[`user.${lookup}`]);
    if (!value || looked.has(`${lookup}:${value.toLowerCase()}`)) continue;
    const found = await lookUp(input, lookup, value);
    if ('error' in found) return collision(found.error, []);
    if (found.account) {
      const why = policy.never ? 'matching is set to never link an existing account' : `the matching order (${policy.keys.map(describeKey).join(', ')}) did not link it`;
      return collision(
        `collision: cannot create the user, the ${lookup} "${value}" belongs to ${describeAccount(found.account.ref)}, and ${why}; nothing was created. Rename one of them, or add ${lookup} to the target's matching order to link that account`,
        [{ key: { lookup }, value, account: found.account }],
      );
    }
  }
  return { kind: 'none', tried };
}

/**
 * Before an update changes a linked account's username or e-mail: the account that already holds
 * the new value, if another one does (null when the value is free). Unique lookups only.
 */
export async function renameCollision(
  input: Pick<FirstContactInput, 'connector' | 'fields'> & { policy: MatchPolicy; self: TargetUserRef; changes: FieldValues },
): Promise<string | null> {
  for (const lookup of input.policy.unique) {
    const value = asString(input.changes[`user.${lookup}`]);
    if (!value) continue;
    const found = await lookUp(input, lookup, value);
    if ('error' in found) return found.error;
    if (found.account && found.account.ref.key !== input.self.key) {
      return `collision: ${describeAccount(input.self)} is to get the ${lookup} "${value}", but ${describeAccount(found.account.ref)} already has it; nothing was changed. Rename or remove the other account in the target, or correct the identity provider's data`;
    }
  }
  return null;
}

async function lookUp(input: Pick<FirstContactInput, 'connector' | 'fields'>, lookup: MatchLookup, value: string): Promise<{ account: TargetUser | null } | { error: string }> {
  const keys: MatchKeys = { [lookup]: value };
  try {
    return { account: await input.connector.findUser(keys, input.fields) };
  } catch (e) {
    // Several accounts with one e-mail: the target names them; anything else (auth, down) is not ours.
    if (isIdsyncError(e) && e.code === 'CONFLICT') return { error: `collision: ${errorText(e)}; nothing was linked or changed` };
    throw e;
  }
}

function collision(error: string, hits: MatchHit[], linkedTo?: string): FirstContact {
  return {
    kind: 'collision',
    error,
    accounts: [...new Map(hits.map((h) => [h.account.ref.key, h])).values()].map((h) => ({
      key: h.account.ref.key,
      username: h.account.ref.username ?? null,
      by: describeLookup(h.key, h.value),
      ...(linkedTo ? { linkedTo } : {}),
    })),
  };
}

function describeLookup(k: MatchKey, value: string): string {
  return k.attribute ? `${k.lookup} "${value}" (from ${k.attribute})` : `${k.lookup} "${value}"`;
}

function keyValue(k: MatchKey, user: SourceUser, mapped: FieldValues): string | undefined {
  if (!k.attribute) return k.lookup === 'key' ? undefined : asString(mapped[`user.${k.lookup}`]);
  const segments = parsePlainPath(k.attribute);
  return segments ? asString(readUserPath(user, segments)) : undefined;
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

const TAKEN = /already exists|already in use|already taken|is taken/i;

/**
 * A target refused a write because a username or e-mail is taken (a check above did not apply,
 * e.g. a target that holds e-mails unique while the policy does not match by e-mail, or a race):
 * the refusal, with the account that holds the value named, found by looking it up. Best
 * effort: the refusal is returned as it is when the lookup finds nothing or fails.
 */
export async function nameTheHolder(
  connector: Pick<TargetConnector, 'findUser'>,
  refusal: string,
  values: FieldValues,
  selfKey: string | undefined,
): Promise<string> {
  if (!TAKEN.test(refusal)) return refusal;
  for (const lookup of ['username', 'email'] as const) {
    const value = asString(values[`user.${lookup}`]);
    if (!value || !(lookup === 'username' ? /user ?name/i : /e-?mail/i).test(refusal)) continue;
    try {
      const holder = await connector.findUser({ [lookup]: value }, []);
      if (holder && holder.ref.key !== selfKey) return `collision: ${refusal}; the ${lookup} "${value}" belongs to ${describeAccount(holder.ref)}, which was left as it is. Rename one of them, or correct the identity provider's data`;
    } catch (e) {
      if (isIdsyncError(e, 'CONFLICT')) return `collision: ${refusal} (${errorText(e)})`;
    }
  }
  return refusal;
}
