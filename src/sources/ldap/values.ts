// LDAP values as the mapping sees them. LDAP gives every attribute as a list of strings or
// bytes; the mapping wants a string for a single value. The rule (documented in the README):
// an attribute declared multi-valued is always a list; any other is a string when one value
// came and a list when several did (nothing is dropped). Binary attributes are never decoded
// as text: objectGUID becomes its canonical GUID string, objectSid its S-1-5-… form, anything
// else binary (jpegPhoto, thumbnailPhoto, certificates) base64.

/** Attributes binary on every directory, whatever the schema says (AD's schema calls them octet strings). */
export const ALWAYS_BINARY = ['objectGUID', 'objectSid', 'jpegPhoto', 'thumbnailPhoto', 'userCertificate', 'userSMIMECertificate', 'mS-DS-ConsistencyGuid', 'msExchMailboxGuid', 'sIDHistory', 'tokenGroups', 'photo', 'audio', 'userPKCS12'];

/**
 * AD's objectGUID bytes in the canonical string form (the first three groups little-endian,
 * as Windows shows it: the same text Get-ADUser and Entra's onPremisesImmutableId decode to).
 */
export function guidFromBytes(b: Buffer): string {
  if (b.length !== 16) return b.toString('base64');
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = Buffer.from(b.subarray(from, to));
    return (reverse ? part.reverse() : part).toString('hex');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

/** The bytes of a canonical GUID string (for filters on objectGUID: \\xx escapes). */
export function guidToBytes(guid: string): Buffer | undefined {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid.trim());
  if (!m) return undefined;
  const le = (h: string) => Buffer.from(h, 'hex').reverse();
  return Buffer.concat([le(m[1]!), le(m[2]!), le(m[3]!), Buffer.from(m[4]!, 'hex'), Buffer.from(m[5]!, 'hex')]);
}

/** A binary SID as S-R-I-S-S… (MS-DTYP 2.4.2). */
export function sidFromBytes(b: Buffer): string {
  if (b.length < 8) return b.toString('base64');
  const revision = b[0]!;
  const count = b[1]!;
  const authority = b.readUIntBE(2, 6);
  const subs: number[] = [];
  for (let i = 0; i < count && 8 + i * 4 + 4 <= b.length; i++) subs.push(b.readUInt32LE(8 + i * 4));
  return `S-${revision}-${authority}${subs.map((s) => `-${s}`).join('')}`;
}

/** One binary value as text: by what the attribute is. */
export function binaryText(attribute: string, b: Buffer): string {
  const a = attribute.toLowerCase();
  if (a === 'objectguid' || a.endsWith('guid')) return guidFromBytes(b);
  if (a === 'objectsid' || a === 'sidhistory' || a === 'tokengroups') return sidFromBytes(b);
  return b.toString('base64');
}

/** Escapes a value for an LDAP filter (RFC 4515); binary values byte by byte. */
export function filterValue(v: string | Buffer): string {
  if (Buffer.isBuffer(v)) return [...v].map((x) => `\\${x.toString(16).padStart(2, '0')}`).join('');
  return v.replace(/[\\*()\x00]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A DN as a key: lower-case, no spaces around the separators (values compared as written otherwise). */
export function normalizeDn(dn: string): string {
  return dn
    .trim()
    .replace(/\s*([,=+])\s*/g, '$1')
    .toLowerCase();
}

/** The value of the first RDN (cn=Sales,ou=… → Sales), unescaped. */
export function firstRdnValue(dn: string): string {
  const m = /^[^=]+=((?:\\.|[^,+])*)/.exec(dn.trim());
  const raw = m?.[1] ?? dn;
  return raw.replace(/\\([0-9a-fA-F]{2}|.)/g, (_, c: string) => (c.length === 2 ? String.fromCharCode(parseInt(c, 16)) : c)).trim();
}

/** An attribute's values as read: text, or bytes for binary attributes and values that are not UTF-8. */
export type RawValues = Array<string | Buffer>;

/** LDAP values as a list of text values (binary ones converted). */
export function textValues(attribute: string, raw: RawValues | undefined): string[] {
  if (raw === undefined) return [];
  return raw.map((v) => (Buffer.isBuffer(v) ? binaryText(attribute, v) : v));
}

/** The value the mapping sees (see the rule at the top); undefined when the entry has none. */
export function mappedValue(attribute: string, raw: RawValues | undefined, multi: boolean): string | string[] | undefined {
  const values = textValues(attribute, raw);
  if (multi) return values;
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : values;
}
