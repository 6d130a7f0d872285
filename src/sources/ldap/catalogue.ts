// The attributes an LDAP source offers to the mapping editor: a few always there (the id, the
// DN, accountEnabled, the manager and groups paths), and the attributes the server's own schema
// (the subschema entry named by the rootDSE) allows on the user object classes, with their
// types: multi-valued ones as lists, binary ones said to arrive as base64 (GUIDs and SIDs in
// their usual text forms).
import type { AttributeInfo } from '../../core/types.ts';
import type { LdapSettings } from './presets.ts';
import { ALWAYS_BINARY } from './values.ts';

/** Syntaxes whose values are bytes (RFC 4517 and AD's octet strings). */
const BINARY_SYNTAXES = new Set(['1.3.6.1.4.1.1466.115.121.1.5', '1.3.6.1.4.1.1466.115.121.1.8', '1.3.6.1.4.1.1466.115.121.1.28', '1.3.6.1.4.1.1466.115.121.1.40', '1.3.6.1.4.1.1466.115.121.1.9', '1.3.6.1.4.1.1466.115.121.1.10', '1.2.840.113556.1.4.907']);

/** Paths that do not come from the schema. */
export function staticAttributes(s: LdapSettings): AttributeInfo[] {
  return [
    { path: 'dn', type: 'string', description: 'The entry\'s distinguished name (changes on a rename or move; idsync links on the id)' },
    { path: s.idAttribute, type: 'string', description: s.idAttribute === 'objectGUID' ? 'Immutable id, in the canonical GUID form (idsync links users on it)' : 'Immutable id (idsync links users on it)' },
    { path: s.usernameAttribute, type: 'string', description: 'Username' },
    { path: s.mailAttribute, type: 'string', description: 'E-mail address' },
    { path: s.nameAttribute, type: 'string', description: 'Display name' },
    { path: 'accountEnabled', type: 'boolean', description: `false when the account is disabled (${s.disabled.attribute}); map it to user.active` },
    { path: 'manager.dn', type: 'string', description: "The manager's DN (the manager attribute)" },
    { path: `manager.${s.usernameAttribute}`, type: 'string', description: "The manager's username" },
    { path: `manager.${s.mailAttribute}`, type: 'string', description: "The manager's e-mail address" },
    { path: `manager.${s.nameAttribute}`, type: 'string', description: "The manager's name" },
    { path: 'manager.targetUsername', type: 'string', description: "The manager's username in the target being written" },
    { path: 'groups', type: 'string[]', description: `Names (cn) of the groups the user is a member of${s.nestedGroups ? ', through nested groups too' : ''}` },
  ];
}

interface AttributeType {
  names: string[];
  syntax?: string;
  single: boolean;
  noUserModification: boolean;
  description?: string;
  sup?: string;
}

interface ObjectClass {
  names: string[];
  sup: string[];
  must: string[];
  may: string[];
}

/** The quoted names or bare words after `key` in an RFC 4512 definition: NAME 'a' / NAME ( 'a' 'b' ) / MAY ( a $ b ). */
function listAfter(def: string, key: string): string[] {
  const m = new RegExp(`\\s${key}\\s+(\\([^)]*\\)|'[^']*'|[^\\s)]+)`).exec(def);
  if (!m) return [];
  return m[1]!
    .replace(/^\(|\)$/g, '')
    .split(/[\s$]+/)
    .map((w) => w.replace(/^'|'$/g, ''))
    .filter(Boolean);
}

export function parseAttributeType(def: string): AttributeType {
  const syntax = /\sSYNTAX\s+'?([0-9.]+)/.exec(def)?.[1];
  const description = /\sDESC\s+'((?:\\'|[^'])*)'/.exec(def)?.[1];
  return { names: listAfter(def, 'NAME'), syntax, single: /\sSINGLE-VALUE\b/.test(def), noUserModification: /\sNO-USER-MODIFICATION\b/.test(def), description, sup: listAfter(def, 'SUP')[0] };
}

export function parseObjectClass(def: string): ObjectClass {
  return { names: listAfter(def, 'NAME'), sup: listAfter(def, 'SUP'), must: listAfter(def, 'MUST'), may: listAfter(def, 'MAY') };
}

/** Object class names a user filter names: (objectClass=inetOrgPerson) → inetOrgPerson. */
export function classesInFilter(filter: string): string[] {
  return [...filter.matchAll(/\(objectClass=([A-Za-z0-9-]+)\)/gi)].map((m) => m[1]!);
}

/** The catalogue from the subschema's attributeTypes and objectClasses (the attributes allowed on the user classes). */
export function catalogueFromSchema(s: LdapSettings, attributeTypes: string[], objectClasses: string[]): AttributeInfo[] {
  const types = new Map<string, AttributeType>();
  for (const def of attributeTypes) {
    const t = parseAttributeType(def);
    for (const n of t.names) types.set(n.toLowerCase(), t);
  }
  const classes = new Map<string, ObjectClass>();
  for (const def of objectClasses) {
    const c = parseObjectClass(def);
    for (const n of c.names) classes.set(n.toLowerCase(), c);
  }
  const allowed = new Set<string>();
  const visit = (name: string, seen: Set<string>) => {
    const c = classes.get(name.toLowerCase());
    if (!c || seen.has(name.toLowerCase())) return;
    seen.add(name.toLowerCase());
    for (const a of [...c.must, ...c.may]) allowed.add(a);
    for (const sup of c.sup) visit(sup, seen);
  };
  const seen = new Set<string>();
  for (const cls of classesInFilter(s.userObjectFilter)) visit(cls, seen);
  // AD's user class gets most of its attributes from auxiliary classes the schema lists apart.
  if (s.preset === 'activeDirectory') for (const aux of ['mailRecipient', 'securityPrincipal', 'msExchBaseClass', 'posixAccount', 'shadowAccount']) visit(aux, seen);
  const multi = new Set(s.multiValued.map((a) => a.toLowerCase()));
  const binary = new Set([...ALWAYS_BINARY, ...s.binaryAttributes].map((a) => a.toLowerCase()));
  const skip = new Set(['userpassword', 'unicodepwd', 'ntpwdhistory', 'lmpwdhistory', 'dbcspwd', 'supplementalcredentials', 'manager', 'memberof', s.idAttribute.toLowerCase()]);
  const known = new Set(staticAttributes(s).map((a) => a.path.toLowerCase()));
  const out: AttributeInfo[] = [];
  for (const name of [...allowed].sort((a, b) => a.localeCompare(b))) {
    const key = name.toLowerCase();
    if (skip.has(key) || known.has(key)) continue;
    const t = types.get(key);
    const isBinary = binary.has(key) || (t?.syntax !== undefined && BINARY_SYNTAXES.has(t.syntax));
    const canonical = t?.names[0] ?? name;
    const describe = [t?.description, isBinary ? (key.endsWith('guid') ? 'binary: given as a GUID string' : key.endsWith('sid') ? 'binary: given as S-1-5-… text' : 'binary: given as base64') : undefined].filter(Boolean).join('; ');
    out.push({ path: canonical, type: multi.has(key) ? 'string[]' : 'string', ...(describe ? { description: describe } : {}) });
  }
  return out;
}
