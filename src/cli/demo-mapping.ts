// The mapping rules of the demo connectors, written as an administrator would on day one: each
// rule always written, an empty source value clearing the field unless the rule says `keep`.
// One builder for every source's demo (src/cli/demo*.ts) and for the end-to-end tests that
// map the same way; the account rows are the same five for every source, in its own names.
import type { MappingRule } from '../core/types.ts';

export const rule = (target: string, source: string, extra: Partial<MappingRule> = {}): MappingRule => ({ target, source, flow: 'always', whenEmpty: 'clear', ...extra });

/** Where one source keeps the account fields (attribute paths or expressions). */
export interface AccountSources {
  username: string;
  displayName: string;
  email: string;
  active: string;
}

/**
 * The account rows (kept as they are when the source has no value) and the groups row: the
 * dept-* groups and `productGroup` (jira-users, confluence-users) reach the target.
 */
export function accountRules(from: AccountSources, productGroup: string): MappingRule[] {
  return [
    rule('user.username', from.username, { whenEmpty: 'keep' }),
    rule('user.displayName', from.displayName, { whenEmpty: 'keep' }),
    rule('user.email', from.email, { whenEmpty: 'keep' }),
    rule('user.active', from.active, { whenEmpty: 'keep' }),
    rule('groups', `groups[$contains($, /^dept-/) or $ = "${productGroup}"]`),
  ];
}
