// Turns directory objects into Graph JSON: only the selected properties (or the documented
// default set), extensions only when asked for, customSecurityAttributes null without the
// permission to read them, and `@odata.type` on members of mixed collections.
import type { OrgDirectoryRole, OrgGroup, OrgUser } from '../org/types.ts';
import { DEFAULT_USER_SELECT, type DirectoryObject } from './directory.ts';

export interface ProjectOptions {
  select?: string[];
  canReadSecurityAttributes: boolean;
  /** Add `@odata.type` (members of directoryObject collections, expanded navigation). */
  typed?: boolean;
}

export function projectUser(u: OrgUser, o: ProjectOptions): Record<string, unknown> {
  const out: Record<string, unknown> = o.typed ? { '@odata.type': '#microsoft.graph.user' } : {};
  const record = u as unknown as Record<string, unknown>;
  for (const p of o.select ?? DEFAULT_USER_SELECT) {
    if (p.startsWith('extension_')) {
      if (record[p] !== undefined) out[p] = record[p];
    } else if (p === 'customSecurityAttributes') {
      out[p] = o.canReadSecurityAttributes ? (u.customSecurityAttributes ?? null) : null;
    } else if (p === 'managerId') {
      // internal field, never a Graph property
    } else {
      out[p] = record[p] ?? null;
    }
  }
  return out;
}

const DEFAULT_GROUP_SELECT = ['id', 'displayName', 'description', 'mail', 'mailEnabled', 'mailNickname', 'securityEnabled', 'groupTypes', 'createdDateTime'];

export function projectGroup(g: OrgGroup, select: string[] | undefined, typed = false): Record<string, unknown> {
  const out: Record<string, unknown> = typed ? { '@odata.type': '#microsoft.graph.group' } : {};
  const record = g as unknown as Record<string, unknown>;
  for (const p of select ?? DEFAULT_GROUP_SELECT) if (p !== 'members') out[p] = record[p] ?? null;
  return out;
}

export function projectRole(r: OrgDirectoryRole, select: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.type': '#microsoft.graph.directoryRole' };
  const record = r as unknown as Record<string, unknown>;
  for (const p of select ?? ['id', 'displayName', 'description', 'roleTemplateId']) if (p !== 'members') out[p] = record[p] ?? null;
  return out;
}

export function projectObject(obj: DirectoryObject, select: string[] | undefined, canReadSecurityAttributes: boolean): Record<string, unknown> {
  switch (obj.type) {
    case 'user':
      // Properties that a user lacks (e.g. a group-only $select) are simply left out.
      return projectUser(obj.obj, { select: select?.filter((p) => p !== 'securityEnabled'), canReadSecurityAttributes, typed: true });
    case 'group':
      return projectGroup(obj.obj, select, true);
    case 'directoryRole':
      return projectRole(obj.obj, select);
  }
}

/** OData cast segment → object type; undefined when the cast is not one Graph supports here. */
export function castType(cast: string | undefined): DirectoryObject['type'] | 'none' | undefined {
  if (cast === undefined) return 'none';
  switch (cast.toLowerCase()) {
    case 'microsoft.graph.group':
      return 'group';
    case 'microsoft.graph.user':
      return 'user';
    case 'microsoft.graph.directoryrole':
      return 'directoryRole';
    default:
      return undefined;
  }
}
