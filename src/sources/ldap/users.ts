// An LDAP user entry as a SourceUser: the immutable id (entryUUID, or objectGUID in its GUID
// form), the asked attributes by the names the mapping uses, accountEnabled from the disabled
// rule, the manager as a DN reference, the DN as the key the engine resolves managers by.
import { IdsyncError } from '../../core/errors.ts';
import type { SourceQuery, SourceUser } from '../../core/types.ts';
import { firstText, valuesOf, type RawEntry } from './connection.ts';
import type { LdapSettings } from './presets.ts';
import type { LdapDisabled } from './config.ts';
import { ALWAYS_BINARY, mappedValue, normalizeDn, textValues } from './values.ts';

/** Paths computed by idsync, never asked of the server. */
const SYNTHETIC = new Set(['dn', 'accountenabled', 'manager', 'groups', 'id']);

/** The LDAP attributes a query needs (top-level names of the paths), besides the fixed ones. */
export function askedAttributes(query: SourceQuery): string[] {
  const out = new Map<string, string>();
  for (const path of query.attributes) {
    const top = path.split('.')[0]!.trim();
    if (!top || SYNTHETIC.has(top.toLowerCase()) || !/^[A-Za-z][A-Za-z0-9-]*$/.test(top)) continue;
    if (!out.has(top.toLowerCase())) out.set(top.toLowerCase(), top);
  }
  return [...out.values()];
}

/** Names a mapping commonly reads of a manager; unknown ones are ignored by the server. */
const COMMON_MANAGER_FIELDS = ['displayName', 'cn', 'givenName', 'sn', 'title', 'userPrincipalName', 'employeeNumber', 'employeeID'];

/**
 * The manager's attributes a reference carries: those `manager.<name>` paths name, the user
 * attributes the query reads (the engine passes top-level names only), and the common ones.
 */
export function managerFields(query: SourceQuery): string[] {
  const out = new Map<string, string>();
  for (const f of [...COMMON_MANAGER_FIELDS, ...askedAttributes(query)]) out.set(f.toLowerCase(), f);
  for (const path of query.attributes) {
    if (!path.startsWith('manager.')) continue;
    const field = path.slice('manager.'.length).split('.')[0]!;
    if (!field || ['targetusername', 'id', 'dn'].includes(field.toLowerCase()) || !/^[A-Za-z][A-Za-z0-9-]*$/.test(field)) continue;
    out.set(field.toLowerCase(), field);
  }
  return [...out.values()];
}

/** What a user search requests: the fixed attributes, the asked ones, the manager and memberOf on demand. */
export function userSearchAttributes(s: LdapSettings, query: SourceQuery, withMemberOf: boolean): string[] {
  const list = [s.idAttribute, s.usernameAttribute, s.mailAttribute, s.nameAttribute, s.disabled.attribute, ...askedAttributes(query)];
  if (query.manager) list.push('manager');
  if (withMemberOf) list.push('memberOf');
  const seen = new Set<string>();
  return list.filter((a) => !seen.has(a.toLowerCase()) && seen.add(a.toLowerCase()));
}

export function binaryAttributes(s: LdapSettings): Set<string> {
  return new Set([...ALWAYS_BINARY, ...s.binaryAttributes].map((a) => a.toLowerCase()));
}

/** Whether the entry is enabled under the settings' disabled rule. */
export function isEnabled(entry: RawEntry, rule: LdapDisabled): boolean {
  const values = textValues(rule.attribute, valuesOf(entry, rule.attribute));
  if (rule.when === 'present') return values.length === 0;
  if (rule.when === 'bit') {
    const bit = Number(rule.value);
    return !values.some((v) => (Number.parseInt(v, 10) & bit) !== 0);
  }
  const disabledValue = String(rule.value).toLowerCase();
  return !values.some((v) => v.toLowerCase() === disabledValue);
}

/** The entry's immutable id; an entry without one is refused (the settings' idAttribute is wrong or unreadable). */
export function entryId(entry: RawEntry, s: LdapSettings): string {
  const id = textValues(s.idAttribute, valuesOf(entry, s.idAttribute))[0];
  if (!id) {
    throw new IdsyncError('CONFIG', `the directory returned ${entry.dn} without its ${s.idAttribute}`, {
      hint: `set idAttribute to an immutable id the bind account may read (objectGUID on Active Directory, entryUUID on OpenLDAP)`,
    });
  }
  return id.toLowerCase();
}

export function toSourceUser(entry: RawEntry, s: LdapSettings, query: SourceQuery): SourceUser {
  const multi = new Set(s.multiValued.map((a) => a.toLowerCase()));
  const attrs: Record<string, unknown> = { dn: entry.dn };
  for (const name of [s.usernameAttribute, s.mailAttribute, s.nameAttribute, ...askedAttributes(query)]) {
    if (name in attrs) continue;
    const v = mappedValue(name, valuesOf(entry, name), multi.has(name.toLowerCase()));
    attrs[name] = v === undefined ? null : v;
  }
  attrs.accountEnabled = isEnabled(entry, s.disabled);
  const user: SourceUser = { id: entryId(entry, s), attrs, keys: { dn: normalizeDn(entry.dn) } };
  if (query.manager) {
    const dn = firstText(entry, 'manager');
    user.manager = dn ? { key: 'dn', value: normalizeDn(dn), attrs: { dn } } : null;
  }
  return user;
}

/** The manager's attributes as a report's reference carries them (the engine uses them when the manager is not in its shadow yet). */
export function managerAttributes(entry: RawEntry, s: LdapSettings, fields: string[]): Record<string, unknown> {
  const multi = new Set(s.multiValued.map((a) => a.toLowerCase()));
  const attrs: Record<string, unknown> = { dn: entry.dn };
  for (const f of [s.usernameAttribute, s.mailAttribute, s.nameAttribute, ...fields]) {
    const v = mappedValue(f, valuesOf(entry, f), multi.has(f.toLowerCase()));
    attrs[f] = v === undefined ? null : v;
  }
  attrs.accountEnabled = isEnabled(entry, s.disabled);
  return attrs;
}

export function usernameOf(entry: RawEntry, s: LdapSettings): string | undefined {
  return firstText(entry, s.usernameAttribute);
}
