// Product-access groups of the Cloud targets (Jira Cloud, Confluence Cloud). Those products
// cannot deactivate or delete an account (that belongs to the Atlassian account, see the
// atlassian-admin target), but membership of a product-access group is what grants the product
// and costs a licence seat. The cleanup action "remove access" removes a leaver from the
// groups configured here; a returner is added back. One setting, one declaration for both targets.
import { z } from 'zod';
import type { TargetCapabilities } from '../core/types.ts';

/** `accessGroups`: the product-access groups of this site (e.g. `jira-software-users-acme`). */
export const accessGroupsSchema = z
  .array(z.string().trim().min(1, 'an access group name cannot be empty').max(255, 'a group name has at most 255 characters'))
  .default([])
  .refine((names) => new Set(names.map((n) => n.toLowerCase())).size === names.length, {
    message: 'list each access group once (names are compared without case)',
  });

/** The reason shown when "remove access" is chosen for a Cloud target without access groups. */
export function noAccessGroupsReason(product: string): string {
  return `set accessGroups on this target to the ${product} product-access groups (e.g. in admin.atlassian.com → Products → the product's default groups), so a leaver's access can be removed`;
}

/** The type's capabilities narrowed to these settings: removeAccess only with access groups. */
export function withAccessGroups(caps: TargetCapabilities, accessGroups: readonly string[], product: string): TargetCapabilities {
  if (accessGroups.length > 0) return caps;
  return {
    ...caps,
    lifecycle: { ...caps.lifecycle, removeAccess: false, reasons: { ...caps.lifecycle.reasons, removeAccess: noAccessGroupsReason(product) } },
  };
}
