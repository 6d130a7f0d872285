// What happens to a linked user the identity provider no longer gives (cleanup, issue 10), per
// target. Every key is optional and the defaults are the safe ones: disable the account (or, on a
// target that cannot disable, remove its product access), never delete, never touch a manual
// group membership, and hold back (quarantine) a cleanup that is larger than the connector's
// safety threshold. The engine applies it through one policy (src/engine/cleanup-policy.ts).
import { z } from 'zod';

/** What is done to a gone user's account. `disable` on a target that cannot disable removes its product access instead. */
export const CLEANUP_ACTIONS = ['disable', 'delete', 'keep', 'anonymise'] as const;
export type CleanupAction = (typeof CLEANUP_ACTIONS)[number];

const action = z.enum(CLEANUP_ACTIONS, { error: `use one of: ${CLEANUP_ACTIONS.join(', ')}` });

/** A name or a glob pattern (`svc-*`, `*@contoso.com`): `*` any text, `?` one character, case-insensitive. */
const namePattern = z.string().min(1, 'give a name or a pattern such as svc-*');

export const cleanupSchema = z
  .object({
    /** Default: `disable`. */
    action: action.optional(),
    /**
     * Disable now, delete once the user has been gone this many days (checked on every run;
     * the deletion happens on the first run on or after the day it is due).
     */
    deleteAfterDays: z.number().int().min(1, 'at least 1 day').max(3650, 'at most 3650 days (10 years)').optional(),
    /** A different action by why the user is gone; each falls back to `action`. */
    byReason: z
      .object({
        /** Deleted in the identity provider (a tombstone, a 404, or no longer returned by a complete read). */
        deleted: action.optional(),
        /** Disabled there: the mapping gives `user.active` false. Only `delete` and `anonymise` add anything to the mapped deactivation. */
        disabled: action.optional(),
        /** Still in the provider, but outside the connector's filter or required groups. */
        outOfScope: action.optional(),
      })
      .strict()
      .optional(),
    /** On cleanup, remove the group memberships idsync added (never manual ones), except `keepGroups`. */
    removeGroups: z.boolean().default(false),
    keepGroups: z.array(namePattern).default([]),
    /** Never touched by cleanup: users by target username, e-mail or label, and members of these groups (names or patterns). */
    protected: z
      .object({
        users: z.array(namePattern).default([]),
        groups: z.array(namePattern).default([]),
      })
      .strict()
      .default({ users: [], groups: [] }),
  })
  .strict();

export type CleanupConfig = z.infer<typeof cleanupSchema>;

/** Why a user is cleaned up, as the configuration names it. */
export type CleanupReason = 'deleted' | 'disabled' | 'outOfScope';

/** What a lifecycle can do, as cleanupIssues needs it (the target's LifecycleCapabilities). */
interface Lifecycle {
  disable: boolean;
  delete: boolean;
  anonymise: boolean;
  removeAccess: boolean;
  reasons?: Partial<Record<'disable' | 'delete' | 'anonymise' | 'renameUsername' | 'removeAccess', string>>;
}

/**
 * Cleanup settings a target cannot carry out, placed at the key (`cleanup.action`,
 * `cleanup.byReason.outOfScope`, `cleanup.deleteAfterDays`) and quoting the target's reason.
 * An unset action on a target that can neither disable nor remove access is a warning: gone
 * users are then only reported.
 */
export function cleanupIssues(
  cleanup: CleanupConfig | undefined,
  lifecycle: Lifecycle,
  where: { path: string; targetId: string; connectorId?: string; label: string },
): Array<{ path: string; message: string; severity: 'error' | 'warning' }> {
  const out: Array<{ path: string; message: string; severity: 'error' | 'warning' }> = [];
  const who = `target "${where.targetId}"${where.connectorId ? ` of connector "${where.connectorId}"` : ''} (${where.label})`;
  const because = (k: 'disable' | 'delete' | 'anonymise' | 'removeAccess') => (lifecycle.reasons?.[k] ? `: ${lifecycle.reasons[k]}` : '');
  const check = (key: string, action: CleanupAction | undefined) => {
    if (!action || action === 'keep') return;
    if (action === 'delete' && !lifecycle.delete) out.push({ path: `${where.path}.${key}`, message: `${who} cannot delete accounts${because('delete')}; use disable or keep`, severity: 'error' });
    if (action === 'anonymise' && !lifecycle.anonymise) out.push({ path: `${where.path}.${key}`, message: `${who} cannot anonymise accounts${because('anonymise')}; use disable or keep`, severity: 'error' });
    if (action === 'disable' && !lifecycle.disable && !lifecycle.removeAccess) out.push({ path: `${where.path}.${key}`, message: `${who} can neither disable accounts${because('disable')} nor remove their product access${because('removeAccess')}; use keep`, severity: 'error' });
  };
  check('action', cleanup?.action);
  check('byReason.deleted', cleanup?.byReason?.deleted);
  check('byReason.outOfScope', cleanup?.byReason?.outOfScope);
  const disabled = cleanup?.byReason?.disabled;
  if (disabled && disabled !== 'keep' && disabled !== 'disable') {
    // A user disabled in the provider is deactivated by the mapping (user.active); more than that is not built yet.
    out.push({ path: `${where.path}.byReason.disabled`, message: `idsync does not yet ${disabled} users who are disabled in the identity provider; map user.active (they are then deactivated) and use keep or disable here`, severity: 'error' });
  }
  if (cleanup?.deleteAfterDays !== undefined) {
    const used = [cleanup.action ?? 'disable', cleanup.byReason?.deleted, cleanup.byReason?.outOfScope].filter((a): a is CleanupAction => !!a);
    if (!used.some((a) => a === 'disable' || a === 'anonymise')) out.push({ path: `${where.path}.deleteAfterDays`, message: 'deleteAfterDays deletes accounts some days after they were disabled or anonymised; use it with action disable or anonymise', severity: 'error' });
    else if (!lifecycle.delete) out.push({ path: `${where.path}.deleteAfterDays`, message: `${who} cannot delete accounts${because('delete')}; remove deleteAfterDays`, severity: 'error' });
  }
  if (!cleanup?.action && !lifecycle.disable && !lifecycle.removeAccess) {
    out.push({ path: `${where.path}.action`, message: `${who} can neither disable accounts nor remove their access${because('disable')}; users the identity provider no longer gives are only reported (set cleanup.action: keep to say so)`, severity: 'warning' });
  }
  return out;
}
