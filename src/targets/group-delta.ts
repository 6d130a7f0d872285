// What a `groups` change adds and removes, shared by the targets that write memberships one
// group at a time. The planner usually hands over the delta (`add` / `remove`, so memberships
// added by hand are never removed); without it, the difference of before and after is taken.
import type { FieldChange, Json } from '../core/types.ts';
import { errorText } from '../core/errors.ts';
import { concernsOnlyThisField } from '../core/error-policy.ts';

/** The group names in a `groups` value (anything else in the list is ignored). */
export function groupNames(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Jira and Confluence compare group names without regard to case. */
export function sameGroupName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The memberships to add and to remove; `same` says when two names are one group. */
export function groupDelta(change: FieldChange, same: (a: string, b: string) => boolean = sameGroupName): { add: string[]; remove: string[] } {
  const before = groupNames(change.before);
  const after = groupNames(change.after);
  return {
    add: change.add ?? after.filter((g) => !before.some((b) => same(b, g))),
    remove: change.remove ?? before.filter((g) => !after.some((a) => same(a, g))),
  };
}

/**
 * Removes the user from each group with `removeOne`, before any group is added: cut short, a user
 * is in neither group, never in both (docs/architecture.md). A failure that concerns only this
 * field is collected into `failures`; any other (the target is down) stops the write.
 */
export async function removeMemberships(groups: readonly string[], removeOne: (group: string) => Promise<void>, failures: string[]): Promise<void> {
  for (const group of groups) {
    try {
      await removeOne(group);
    } catch (e) {
      if (!concernsOnlyThisField(e)) throw e;
      failures.push(`remove from "${group}": ${errorText(e)}`);
    }
  }
}
