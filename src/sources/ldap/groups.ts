// Group memberships, whatever the directory's model: the users' memberOf (AD, OpenLDAP with the
// memberof overlay), or the groups' member / uniqueMember (DNs) or memberUid (usernames).
// One listing reads the groups once (paged) into a GroupIndex; nesting is resolved from it
// (a group among another's members, or a group's own memberOf), so it works on any server.
// Active Directory sends large member lists in ranges (member;range=0-1499): readRanges
// fetches the rest, block by block, for each such group.
import { IdsyncError } from '../../core/errors.ts';
import type { LdapConnection, RawEntry } from './connection.ts';
import { firstText, valuesOf } from './connection.ts';
import type { LdapSettings } from './presets.ts';
import { firstRdnValue, normalizeDn, textValues } from './values.ts';
import { GroupSets, NO_GROUPS } from '../../core/group-sets.ts';
import { KeyTable } from './key-table.ts';

export interface IndexedGroup {
  id: string;
  name: string;
  dn: string;
  /** Normalised DNs of the groups this group is a direct member of. */
  parents: string[];
}

/** The attribute of a group entry that lists its members, in the group-side models. */
export function memberAttribute(s: LdapSettings): string | undefined {
  return s.membership === 'memberOf' ? undefined : s.membership;
}

/** `dn#'0101'B` (uniqueMember's optional unique identifier) → dn. */
function stripUid(v: string): string {
  return v.replace(/#'[01]*'B$/, '');
}

export class GroupIndex {
  readonly byDn = new Map<string, IndexedGroup>();
  /**
   * Group-side models: the direct groups of each member (normalised DN, or `uid:<username>` for
   * memberUid) as the number of an interned group set (src/core/group-sets.ts): one small integer per
   * member instead of an array of DNs, and the keys as bytes outside the V8 heap (key-table.ts).
   */
  private readonly memberSets = new KeyTable();
  private readonly sets = new GroupSets();
  /** Normalised DN of each group number, in the order the groups were added. */
  private readonly groupDns: string[] = [];
  private readonly setDns: Array<readonly string[] | undefined> = [];
  private readonly setNames: Array<readonly string[] | undefined> = [];
  private readonly closure = new Map<string, string[]>();

  constructor(private readonly s: LdapSettings) {}

  /** Adds one group with its complete member list (a failed or partial read must not reach here). */
  add(entry: RawEntry, members: string[]): void {
    const dn = normalizeDn(entry.dn);
    const id = textValues(this.s.idAttribute, valuesOf(entry, this.s.idAttribute))[0] ?? dn;
    const name = firstText(entry, 'cn') ?? firstRdnValue(entry.dn);
    const parents = this.s.membership === 'memberOf' ? textValues('memberOf', valuesOf(entry, 'memberOf')).map(normalizeDn) : [];
    this.byDn.set(dn, { id, name, dn: entry.dn, parents });
    const group = this.groupDns.length;
    this.groupDns.push(dn);
    for (const m of members) {
      const key = this.s.membership === 'memberUid' ? `uid:${m.toLowerCase()}` : normalizeDn(stripUid(m));
      this.memberSets.set(key, this.sets.extend(this.memberSets.get(key) ?? NO_GROUPS, group));
    }
  }

  /** Group-side models: a group among another group's members is nested in it. Called once all groups are added. */
  link(): void {
    if (this.s.membership === 'memberOf' || this.s.membership === 'memberUid') return;
    for (const [member, set] of this.memberSets.entries()) {
      const g = this.byDn.get(member);
      if (g) g.parents.push(...this.dnsOf(set));
    }
  }

  /** The distinct group DNs of an interned set (shared; never to be changed). */
  private dnsOf(set: number): readonly string[] {
    let dns = this.setDns[set];
    if (!dns) {
      dns = Object.freeze([...new Set(this.sets.groups(set).map((g) => this.groupDns[g]!))]);
      this.setDns[set] = dns;
    }
    return dns;
  }

  /** The direct groups (normalised DNs, only those in the index) of a user entry. */
  directGroups(user: RawEntry, username: string | undefined): readonly string[] {
    if (this.s.membership === 'memberOf') return textValues('memberOf', valuesOf(user, 'memberOf')).map(normalizeDn).filter((dn) => this.byDn.has(dn));
    const key = this.s.membership === 'memberUid' ? (username ? `uid:${username.toLowerCase()}` : '') : normalizeDn(user.dn);
    const set = this.memberSets.get(key);
    return set === undefined ? [] : this.dnsOf(set);
  }

  /** Every group a group is in, through nesting (cycles tolerated). */
  private ancestors(dn: string): string[] {
    const known = this.closure.get(dn);
    if (known) return known;
    const seen = new Set<string>();
    const stack = [...(this.byDn.get(dn)?.parents ?? [])];
    while (stack.length) {
      const p = stack.pop()!;
      if (seen.has(p) || !this.byDn.has(p)) continue;
      seen.add(p);
      stack.push(...this.byDn.get(p)!.parents);
    }
    const out = [...seen];
    this.closure.set(dn, out);
    return out;
  }

  /** Names of the user's groups (a fresh array, sorted): direct, or through nesting when configured. */
  groupNames(user: RawEntry, username: string | undefined): string[] {
    if (this.s.membership === 'memberOf') return this.namesOf(this.directGroups(user, username));
    // Group-side models: every member with the same direct groups has the same names, computed once per set.
    const key = this.s.membership === 'memberUid' ? (username ? `uid:${username.toLowerCase()}` : '') : normalizeDn(user.dn);
    const set = this.memberSets.get(key) ?? NO_GROUPS;
    let names = this.setNames[set];
    if (!names) {
      names = Object.freeze(this.namesOf(this.dnsOf(set)));
      this.setNames[set] = names;
    }
    return [...names];
  }

  private namesOf(direct: readonly string[]): string[] {
    const all = new Set(direct);
    if (this.s.nestedGroups) for (const d of direct) for (const a of this.ancestors(d)) all.add(a);
    return [...new Set([...all].map((dn) => this.byDn.get(dn)!.name))].sort();
  }

  /** Members held (group-side models) and distinct group sets among them, the empty one included. */
  stats(): { members: number; sets: number } {
    return { members: this.memberSets.size, sets: this.sets.size };
  }

  /** Groups by name (case-insensitive), for required groups. */
  findByName(name: string): IndexedGroup | undefined {
    const want = name.toLowerCase();
    for (const g of this.byDn.values()) if (g.name.toLowerCase() === want) return g;
    return undefined;
  }

  /** Direct members (normalised DNs or uid: keys) of every group, for listGroups. */
  membersByGroup(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [member, set] of this.memberSets.entries()) {
      for (const g of this.dnsOf(set)) {
        const list = out.get(g);
        if (list) list.push(member);
        else out.set(g, [member]);
      }
    }
    return out;
  }
}

/** `member;range=0-1499` → { attribute: 'member', end: 1499 } ('*' → end undefined: the last block). */
export function rangeOf(type: string): { attribute: string; start: number; end: number | undefined } | undefined {
  const m = /^([^;]+);range=(\d+)-(\d+|\*)$/i.exec(type);
  if (!m) return undefined;
  return { attribute: m[1]!, start: Number(m[2]), end: m[3] === '*' ? undefined : Number(m[3]) };
}

/**
 * The values of `attribute` of an entry, following Active Directory's range retrieval: when the
 * server sent `member;range=0-1499` instead of `member`, the next blocks are read with base
 * searches (`member;range=1500-*`) until the block that ends with `*`.
 */
export async function readRanges(conn: LdapConnection, entry: RawEntry, attribute: string, signal?: AbortSignal): Promise<string[]> {
  const plain = valuesOf(entry, attribute);
  let ranged: { type: string; values: string[] } | undefined;
  for (const [type, v] of entry.attrs) {
    const r = rangeOf(type);
    if (r && r.attribute.toLowerCase() === attribute.toLowerCase()) ranged = { type, values: textValues(attribute, v) };
  }
  if (!ranged) return textValues(attribute, plain);
  const values = [...ranged.values];
  let range = rangeOf(ranged.type)!;
  for (let guard = 0; range.end !== undefined; guard++) {
    if (guard > 100_000) throw new IdsyncError('INTERNAL', `range retrieval of ${attribute} on ${entry.dn} did not end`);
    const next = range.end + 1;
    const side = await conn.side();
    const [again] = await side.all({ base: entry.dn, scope: 'base', filter: '(objectClass=*)', attributes: [`${attribute};range=${next}-*`], binary: new Set() }, `reading the members of ${entry.dn}`, signal);
    if (!again) throw new IdsyncError('TRANSIENT', `the group ${entry.dn} disappeared while its members were read`, { hint: 'retry the run' });
    let found: { type: string; values: string[] } | undefined;
    for (const [type, v] of again.attrs) {
      const r = rangeOf(type);
      if (r && r.attribute.toLowerCase() === attribute.toLowerCase()) found = { type, values: textValues(attribute, v) };
    }
    if (!found) throw new IdsyncError('TRANSIENT', `the directory stopped the range retrieval of ${attribute} on ${entry.dn} at ${next}`, { hint: 'retry the run' });
    range = rangeOf(found.type)!;
    if (range.start !== next) throw new IdsyncError('TRANSIENT', `the directory answered range ${range.start} for ${attribute} of ${entry.dn} when ${next} was asked`, { hint: 'retry the run' });
    values.push(...found.values);
  }
  return values;
}

/**
 * Reads every group of the settings' group base and filter into an index (paged; member lists
 * through range retrieval). A search that ended on an empty page (how an early end looks: LDAP
 * has no count to check against) is read once more, adding the groups not met yet, as the
 * users' listing does: the index names users' groups and is the read's group list, so a group
 * missing from it would be a group taken for gone.
 */
export async function buildGroupIndex(conn: LdapConnection, s: LdapSettings, signal?: AbortSignal): Promise<GroupIndex> {
  const index = new GroupIndex(s);
  const member = memberAttribute(s);
  const attributes = ['cn', s.idAttribute, ...(member ? [member] : ['memberOf'])];
  const binary = new Set([s.idAttribute.toLowerCase()].filter((a) => a === 'objectguid'));
  for (let pass = 0; pass < 2; pass++) {
    let endedEmpty = true;
    for await (const page of conn.search({ base: s.groups.baseDn, scope: s.groups.scope, filter: s.groups.filter, attributes, binary, pageSize: s.pageSize }, 'reading groups', signal)) {
      endedEmpty = page.length === 0;
      // Further ranges are read on the side connection: the paged search of groups stays valid.
      for (const g of page) if (!index.byDn.has(normalizeDn(g.dn))) index.add(g, member ? await readRanges(conn, g, member, signal) : []);
    }
    if (!endedEmpty) break;
  }
  index.link();
  return index;
}
