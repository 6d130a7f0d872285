// The one cleanup policy (issue 10): for a linked user the identity provider no longer gives,
// what idsync does to the account in one target. Pure: the link with its cleanup state, why the
// user is gone, the target's cleanup settings and lifecycle, the account's groups and the time
// in, a decision out. The engine turns the decision into writes through the normal
// intent/write/journal path (cleanup-run.ts) or holds it in a quarantine (quarantine.ts).
import { hash } from 'node:crypto';
import type { CleanupAction, CleanupConfig, CleanupReason } from '../config/cleanup-schema.ts';
import type { LifecycleCapabilities } from '../core/types.ts';
import type { CleanupState, Link } from '../store/links.ts';
import type { TombstoneReason } from '../store/shadow.ts';

/** What is done now. `keep`: reported only; `protected`: never touched; `done`: nothing left to do. */
export type CleanupStep = 'keep' | 'protected' | 'done' | 'disable' | 'removeAccess' | 'anonymise' | 'delete';

export interface CleanupDecision {
  step: CleanupStep;
  reason: CleanupReason;
  /** Write `user.active` false (disable, and anonymise where the target can disable). */
  disable: boolean;
  /** Replace username, display name and e-mail by the pseudonym. */
  pseudonymise: boolean;
  /** Memberships to remove (idsync's own, less `keepGroups`; the access groups for removeAccess). */
  removeGroups: string[];
  /** When set, the account is deleted on the first run on or after this time. */
  deleteDueAt: string | null;
  /** Said for the administrator (journal, quarantine list). */
  why: string;
}

export interface CleanupInput {
  link: Link;
  reason: CleanupReason;
  config: CleanupConfig | undefined;
  lifecycle: LifecycleCapabilities;
  /** The account's groups as far as known (the target's, else the link's snapshot). */
  groups: readonly string[];
  /** The target's product-access groups (removeAccess); empty: idsync's memberships. */
  accessGroups?: readonly string[];
  now: Date;
}

/** A tombstone's reason as the cleanup settings name it. A complete read leaving a user out counts as deleted there. */
export function cleanupReasonOf(t: TombstoneReason): CleanupReason {
  return t === 'out-of-scope' ? 'outOfScope' : 'deleted';
}

export const REASON_TEXT: Record<CleanupReason, string> = {
  deleted: 'gone from the identity provider',
  disabled: 'disabled in the identity provider',
  outOfScope: "no longer in the connector's scope",
};

/**
 * The action configured for a reason, before the target's abilities are applied. Unset means
 * `disable`, which on a target that cannot disable removes its product access, and on a target
 * that can do neither only reports the user (config validation says so).
 */
export function configuredAction(config: CleanupConfig | undefined, reason: CleanupReason): CleanupAction {
  if (reason === 'disabled') return config?.byReason?.disabled ?? 'keep'; // the mapping's own deactivation is enough by default
  return config?.byReason?.[reason] ?? config?.action ?? 'disable';
}

export function decideCleanup(input: CleanupInput): CleanupDecision {
  const { link, reason, config, lifecycle, now } = input;
  const state = link.cleanup ?? null;
  const base: CleanupDecision = { step: 'keep', reason, disable: false, pseudonymise: false, removeGroups: [], deleteDueAt: state?.deleteDueAt ?? null, why: REASON_TEXT[reason] };
  const guard = protection(link, input.groups, config);
  if (guard) return { ...base, step: 'protected', deleteDueAt: null, why: `${REASON_TEXT[reason]}; protected (${guard}): never touched by cleanup` };

  // Disabled (or anonymised) earlier with a deletion due: delete once the day has come.
  if (state?.deleteDueAt && lifecycle.delete) {
    if (now.getTime() >= Date.parse(state.deleteDueAt)) return { ...base, step: 'delete', why: `${REASON_TEXT[reason]}; deletion was due ${state.deleteDueAt}` };
  }

  const wanted = configuredAction(config, reason);
  const groupsToRemove = config?.removeGroups ? removable(link.managedGroups, config.keepGroups) : [];
  switch (wanted) {
    case 'keep':
      return { ...base, step: 'keep', deleteDueAt: null, why: `${REASON_TEXT[reason]}; left untouched (cleanup action keep)` };
    case 'delete':
      return { ...base, step: 'delete', deleteDueAt: null, why: `${REASON_TEXT[reason]}; deleted (cleanup action delete)` };
    case 'anonymise': {
      const due = state?.deleteDueAt ?? dueAt(config, now);
      if (state?.anonymisedAt) return { ...base, step: 'done', deleteDueAt: due, why: `${REASON_TEXT[reason]}; anonymised ${state.anonymisedAt}${due ? `, deletion due ${due}` : ''}` };
      return { ...base, step: 'anonymise', pseudonymise: true, disable: lifecycle.disable, removeGroups: groupsToRemove, deleteDueAt: due, why: `${REASON_TEXT[reason]}; anonymised${lifecycle.disable ? ' and disabled' : ''}${due ? `, deletion due ${due}` : ''}` };
    }
    case 'disable': {
      const due = state?.deleteDueAt ?? dueAt(config, now);
      if (state?.disabledAt || state?.accessRemovedAt) return { ...base, step: 'done', deleteDueAt: due, why: `${REASON_TEXT[reason]}; ${state.disabledAt ? `disabled ${state.disabledAt}` : `access removed ${state.accessRemovedAt}`}${due ? `, deletion due ${due}` : ''}` };
      if (lifecycle.disable) return { ...base, step: 'disable', disable: true, removeGroups: groupsToRemove, deleteDueAt: due, why: `${REASON_TEXT[reason]}; disabled${due ? `, deletion due ${due}` : ''}` };
      if (lifecycle.removeAccess) {
        const access = input.accessGroups?.length ? matching(input.groups, input.accessGroups) : removable(link.managedGroups, config?.keepGroups ?? []);
        return { ...base, step: 'removeAccess', removeGroups: unique([...access, ...groupsToRemove]), deleteDueAt: due, why: `${REASON_TEXT[reason]}; product access removed${due ? `, deletion due ${due}` : ''}` };
      }
      return { ...base, step: 'keep', deleteDueAt: null, why: `${REASON_TEXT[reason]}; left untouched: ${lifecycle.reasons?.disable ?? 'the target cannot disable accounts'}` };
    }
  }
}

/** The steps that change an account: what a quarantine holds back and its threshold counts. */
export const DAMAGING_STEPS: readonly CleanupStep[] = ['disable', 'removeAccess', 'anonymise', 'delete'];

export function isDamaging(step: CleanupStep): boolean {
  return DAMAGING_STEPS.includes(step);
}

/** The deterministic pseudonym of an anonymised account: the same for the same person, nothing of them in it. */
export function pseudonymOf(connectorId: string, sourceId: string): { 'user.username': string; 'user.displayName': string; 'user.email': string } {
  const code = hash('sha256', `${connectorId}\u0000${sourceId}`, 'hex').slice(0, 12);
  return { 'user.username': `former-${code}`, 'user.displayName': `Former user ${code}`, 'user.email': `former-${code}@anonymised.invalid` };
}

/** Why a user is protected (the pattern that matched), or undefined. */
export function protection(link: Link, groups: readonly string[], config: CleanupConfig | undefined): string | undefined {
  const p = config?.protected;
  if (!p) return undefined;
  const names = [link.targetUsername, link.label, typeof link.applied['user.email'] === 'string' ? link.applied['user.email'] : null, link.sourceId].filter((x): x is string => !!x);
  for (const pattern of p.users) if (names.some((n) => globMatch(pattern, n))) return `user matches "${pattern}"`;
  for (const pattern of p.groups) {
    const g = groups.find((x) => globMatch(pattern, x));
    if (g) return `member of ${g}`;
  }
  return undefined;
}

/** Case-insensitive glob: `*` any text, `?` one character; everything else literal. */
export function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(text);
}

function removable(managed: readonly string[], keep: readonly string[]): string[] {
  return managed.filter((g) => !keep.some((k) => globMatch(k, g))).sort();
}

function matching(groups: readonly string[], patterns: readonly string[]): string[] {
  return groups.filter((g) => patterns.some((p) => globMatch(p, g))).sort();
}

function unique(xs: string[]): string[] {
  const seen = new Set<string>();
  return xs.filter((x) => !seen.has(x.toLowerCase()) && !!seen.add(x.toLowerCase())).sort();
}

function dueAt(config: CleanupConfig | undefined, now: Date): string | null {
  return config?.deleteAfterDays ? new Date(now.getTime() + config.deleteAfterDays * 86_400_000).toISOString() : null;
}
