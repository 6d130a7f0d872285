// Building Graph queries from what the mapping needs: the exact $select and OData string
// literals (whether a $filter is an advanced query: advanced-query.ts).
import { IdsyncError } from '../../core/errors.ts';
import { ALWAYS_SELECTED, SINGLE_USER_ONLY } from './catalogue.ts';

/** Top-level Graph properties for the attribute paths a mapping reads (manager and groups come another way). */
export function selectFor(attributes: readonly string[]): string[] {
  const out = new Set(ALWAYS_SELECTED);
  for (const path of attributes) {
    const head = path.split('.')[0]!;
    if (head === 'manager' || head === 'groups' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(head)) continue;
    out.add(head);
  }
  return [...out];
}

/** Graph refuses some properties on lists; say so before a run starts rather than with a 501. */
export function assertListable(select: readonly string[]): void {
  const bad = select.filter((p) => SINGLE_USER_ONLY.has(p));
  if (bad.length) {
    throw new IdsyncError('CONFIG', `Microsoft Graph returns ${bad.join(', ')} only for a single user, never in a user list`, {
      hint: 'remove these attributes from the mapping (they cannot be synced in bulk)',
    });
  }
}

/** An OData string literal: single quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

