// Incremental reads of an LDAP directory. What changed since the checkpoint is found by the
// entries' own change marks:
// - OpenLDAP: entryCSN (modifyTimestamp with sub-second order), `(entryCSN>=mark)` minus the
//   mark itself; the next mark is the highest CSN the round saw.
// - Active Directory: uSNChanged against the DC's highestCommittedUSN, read from the rootDSE at
//   the start of the round (what changes during the round is read again next time); deleted
//   users through the Deleted Objects container (show-deleted control) where the account may
//   read it.
// A changed group re-reads its current members; a deleted group is found by its absence from
// the round's group index (the census, ChangePage.groupCensus). What cannot be seen this way is
// left to the next complete (full) read, which the engine runs on schedule: a deleted OpenLDAP
// user (no tombstones without the accesslog overlay), and on AD a user removed from a group
// (memberOf is a back-link, the user's uSNChanged does not move).
//
// The checkpoint is opaque JSON (base64url): the mark, the id of the users' base entry (a
// rebuilt or restored directory has another, so its marks mean nothing: CHECKPOINT_EXPIRED)
// and a digest of what the query and the scope read (another query needs a full read for
// users that did not change).
import { createHash } from 'node:crypto';
import { Control } from 'ldapts';
import { IdsyncError } from '../../core/errors.ts';
import type { ChangePage, SourceQuery, SourceRemoval, SourceUser } from '../../core/types.ts';
import type { LdapConfig } from './config.ts';
import type { LdapSource } from './connector.ts';
import { firstText, type LdapConnection } from './connection.ts';
import { andFilter } from './presets.ts';
import { buildGroupIndex, type GroupIndex, type IndexedGroup } from './groups.ts';
import { groupListOf, groupNameChanges } from '../group-list.ts';
import { entryId } from './users.ts';
import { filterValue, normalizeDn, textValues } from './values.ts';

interface Checkpoint {
  v: 1;
  mode: 'csn' | 'usn';
  mark: string;
  /** Id of the users' base entry when the checkpoint was made. */
  base: string;
  /** Digest of the query and the scope. */
  q: string;
}

const SHOW_DELETED = '1.2.840.113556.1.4.417';
const CHANGES_PAGE = 200;

function expired(why: string): IdsyncError {
  return new IdsyncError('CHECKPOINT_EXPIRED', `the LDAP checkpoint cannot be continued: ${why}`, { hint: 'idsync reads the directory in full this time' });
}

export class LdapChanges {
  constructor(
    private readonly source: LdapSource,
    private readonly cfg: LdapConfig,
  ) {}

  private get s() {
    return this.source.settings;
  }

  private digest(query: SourceQuery): string {
    const s = this.s;
    const shape = {
      a: [...new Set(query.attributes.map((a) => a.split('.')[0]!.toLowerCase()))].sort(),
      g: query.groups,
      m: query.manager,
      u: [s.users.baseDn.toLowerCase(), s.users.scope, s.users.filter],
      gr: query.groups || (this.cfg.requiredGroups ?? []).length ? [s.groups.baseDn.toLowerCase(), s.groups.filter, s.membership, s.nestedGroups, [...(this.cfg.requiredGroups ?? [])].sort()] : null,
      id: s.idAttribute.toLowerCase(),
    };
    return createHash('sha256').update(JSON.stringify(shape)).digest('base64url').slice(0, 22);
  }

  private encode(c: Checkpoint): string {
    return Buffer.from(JSON.stringify(c)).toString('base64url');
  }

  private decode(text: string): Checkpoint {
    let c: Checkpoint;
    try {
      c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Checkpoint;
    } catch {
      throw expired('it is not an LDAP checkpoint idsync wrote');
    }
    if (!c || c.v !== 1 || (c.mode !== 'csn' && c.mode !== 'usn') || typeof c.mark !== 'string' || typeof c.base !== 'string' || typeof c.q !== 'string') throw expired('it is not an LDAP checkpoint idsync wrote');
    if (c.mode === 'usn' && !/^\d+$/.test(c.mark)) throw expired('its update sequence number is not a number');
    if (c.mode === 'csn' && !/^\d{14}(\.\d+)?Z#[0-9a-f]+#[0-9a-f]+#[0-9a-f]+$/i.test(c.mark) && c.mark !== '') throw expired('its change sequence number is not valid');
    return c;
  }

  /** The id of the users' base entry: another one means the directory was rebuilt or restored. */
  private async baseId(conn: LdapConnection, signal?: AbortSignal): Promise<string> {
    const [base] = await conn.all({ base: this.s.users.baseDn, scope: 'base', filter: '(objectClass=*)', attributes: [this.s.idAttribute], binary: new Set(['objectguid']) }, 'reading the users base entry', signal);
    if (!base) throw new IdsyncError('CONFIG', `users.baseDn ${this.s.users.baseDn} was not found`, { hint: 'check users.baseDn' });
    return entryId(base, this.s);
  }

  /** The DC's highestCommittedUSN (Active Directory). */
  private async highestUsn(conn: LdapConnection, signal?: AbortSignal): Promise<string> {
    const [root] = await conn.all({ base: '', scope: 'base', filter: '(objectClass=*)', attributes: ['highestCommittedUSN'], binary: new Set() }, 'reading the rootDSE', signal);
    const usn = root ? firstText(root, 'highestCommittedUSN') : undefined;
    if (!usn || !/^\d+$/.test(usn)) throw new IdsyncError('CONFIG', 'the directory has no highestCommittedUSN in its rootDSE: it is not Active Directory', { hint: "use preset 'openldap' for other directories" });
    return usn;
  }

  async *changes(checkpoint: string | null, query: SourceQuery): AsyncGenerator<ChangePage> {
    query.signal?.throwIfAborted();
    const mode = this.s.changes;
    const q = this.digest(query);
    const previous = checkpoint === null ? undefined : this.decode(checkpoint);
    if (previous && previous.mode !== mode) throw expired(`it was made for ${previous.mode === 'usn' ? 'Active Directory' : 'OpenLDAP'}`);
    if (previous && previous.q !== q) throw expired('the query or the connector scope changed since it was made');

    // The mark and the base id are read first: what changes while the round runs is read again next time.
    let base = '';
    let mark = previous?.mark ?? '';
    for await (const _ of this.source.withRestarts('starting an incremental read', query.signal, async function* (this: LdapChanges, conn: LdapConnection) {
      base = await this.baseId(conn, query.signal);
      if (mode === 'usn') {
        const now = await this.highestUsn(conn, query.signal);
        if (previous && BigInt(now) < BigInt(previous.mark)) throw expired('the domain controller is behind the checkpoint (a restore, or another DC)');
        mark = now;
      }
      yield undefined;
    }.bind(this)));
    if (previous && previous.base !== base) throw expired('the directory was rebuilt or restored since (its base entry has another id)');

    const since = !previous || !mark ? undefined : mode === 'csn' ? `(&(entryCSN>=${filterValue(mark)})(!(entryCSN=${filterValue(mark)})))` : `(uSNChanged>=${BigInt(previous.mark) + 1n})`;
    // OpenLDAP: the next mark is the highest CSN now, read before the data (what changes after it is read next time).
    if (mode === 'csn') mark = await this.highestCsn(query, since, mark);

    if (!previous) {
      const read: { index?: GroupIndex } = {};
      for await (const page of this.source.readUsers(query, this.s.users.filter, { confirmEmptyEnd: true, onIndex: (i) => (read.index = i) })) yield { users: page.users, removed: [] };
      const groupList = query.groups && read.index ? groupListOf(read.index.byDn.values()) : undefined;
      yield { users: [], removed: [], checkpoint: this.encode({ v: 1, mode, mark, base, q }), complete: true, ...(groupList ? { groupList } : {}) };
      return;
    }

    if (!since) throw expired('it holds no change mark');
    const returned = new Set<string>();
    const required = this.cfg.requiredGroups ?? [];

    // 1. Users changed in scope.
    for await (const page of this.source.readUsers({ ...query, groups: query.groups || required.length > 0 }, andFilter(this.s.users.filter, since), { keepOutOfScope: true })) {
      const users: SourceUser[] = [];
      const removed: SourceRemoval[] = [];
      for (const u of page.users) {
        returned.add(u.id);
        // Left every required group: out of scope now.
        if (u.outOfScope) removed.push({ id: u.id, reason: 'out-of-scope' });
        else {
          if (!query.groups) delete u.groups;
          users.push(u);
        }
      }
      if (users.length || removed.length) yield { users, removed };
    }

    // 2. Users changed so that the connector's filter no longer matches them.
    const objectFilter = this.cfg.users.objectFilter ?? this.s.userObjectFilter;
    if (this.s.users.filter !== objectFilter) {
      const removed: SourceRemoval[] = [];
      for await (const _ of this.source.withRestarts('reading users that left the filter', query.signal, async function* (this: LdapChanges, conn: LdapConnection) {
        removed.length = 0;
        const spec = { ...this.source.userSpec({ attributes: [], groups: false, manager: false }, andFilter(objectFilter, since, `(!${this.s.users.filter})`)), attributes: [this.s.idAttribute] };
        for await (const page of conn.search(spec, 'reading users that left the filter', query.signal)) {
          for (const e of page) {
            const id = entryId(e, this.s);
            if (!returned.has(id)) removed.push({ id, reason: 'out-of-scope' });
          }
        }
        yield undefined;
      }.bind(this)));
      if (removed.length) yield { users: [], removed };
    }

    // 3. Changed groups: their current members are read again (their groups changed), and with
    //    groups asked, each changed group's current name goes to the engine (a renamed group's
    //    entry has a new entryCSN / uSNChanged, its id stays), so its shadow follows the rename.
    //    A deleted group leaves no entry to find (OpenLDAP keeps no tombstone), but the index
    //    just read holds every group in scope, read as completely as a full read's (the same
    //    buildGroupIndex): its ids are the round's census (ChangePage.groupCensus), so the engine
    //    takes a group it no longer lists from its members, at no extra request.
    let census: string[] | undefined;
    if (query.groups || required.length) {
      const affected: string[] = [];
      const changedGroups: IndexedGroup[] = [];
      let index: GroupIndex | undefined;
      for await (const _ of this.source.withRestarts('reading changed groups', query.signal, async function* (this: LdapChanges, conn: LdapConnection) {
        affected.length = 0;
        changedGroups.length = 0;
        index = await buildGroupIndex(conn, this.s, query.signal);
        const members = index.membersByGroup();
        const spec = { base: this.s.groups.baseDn, scope: this.s.groups.scope, filter: andFilter(this.s.groups.filter, since), attributes: ['cn'], binary: new Set<string>(), pageSize: this.s.pageSize };
        for await (const page of conn.search(spec, 'reading changed groups', query.signal)) {
          for (const g of page) {
            const dn = normalizeDn(g.dn);
            const indexed = index.byDn.get(dn);
            if (indexed) changedGroups.push(indexed);
            affected.push(...this.usersUnder(dn, members, index));
          }
        }
        yield undefined;
      }.bind(this)));
      if (query.groups && index) census = [...new Set([...index.byDn.values()].map((g) => g.id))];
      if (query.groups && changedGroups.length) yield { users: [], removed: [], groups: groupNameChanges(changedGroups) };
      const dns = [...new Set(affected)].filter((k) => !k.startsWith('uid:'));
      for (let i = 0; i < dns.length; i += CHANGES_PAGE) {
        const chunk = dns.slice(i, i + CHANGES_PAGE);
        const users: SourceUser[] = [];
        for (const dn of chunk) {
          const u = await this.source.getUser(dn, query);
          if (!u || returned.has(u.id) || u.outOfScope) continue;
          returned.add(u.id);
          users.push(u);
        }
        if (users.length) yield { users, removed: [] };
      }
    }

    // 4. Active Directory: deleted users, where the account may read Deleted Objects.
    const removed = mode === 'usn' ? await this.deletedSince(BigInt(previous.mark) + 1n, query.signal) : [];
    if (removed.length) yield { users: [], removed: removed.filter((r) => !returned.has(r.id)) };

    yield { users: [], removed: [], checkpoint: this.encode({ v: 1, mode, mark, base, q }), ...(census ? { groupCensus: census } : {}) };
  }

  /** Users (normalised DNs) that are members of the group, directly or through groups nested in it. */
  private usersUnder(group: string, members: Map<string, string[]>, index: GroupIndex): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const stack = [group];
    while (stack.length) {
      const g = stack.pop()!;
      if (seen.has(g)) continue;
      seen.add(g);
      for (const m of members.get(g) ?? []) {
        if (index.byDn.has(m)) {
          if (this.s.nestedGroups) stack.push(m);
        } else out.push(m);
      }
    }
    return out;
  }

  /**
   * The highest entryCSN of the users' object class under the users base and, when groups are
   * read, of the groups: over everything on a seeding round, over what changed since `since`
   * otherwise (only entryCSN is read). `current` when nothing is newer.
   */
  private async highestCsn(query: SourceQuery, since: string | undefined, current: string): Promise<string> {
    let highest = current;
    const objectFilter = this.cfg.users.objectFilter ?? this.s.userObjectFilter;
    const bases: Array<{ base: string; scope: 'sub' | 'one'; filter: string }> = [{ base: this.s.users.baseDn, scope: this.s.users.scope, filter: andFilter(objectFilter, since) }];
    if (query.groups || (this.cfg.requiredGroups ?? []).length) bases.push({ base: this.s.groups.baseDn, scope: this.s.groups.scope, filter: andFilter(this.s.groups.filter, since) });
    for await (const _ of this.source.withRestarts('reading the change mark', query.signal, async function* (this: LdapChanges, conn: LdapConnection) {
      highest = current;
      for (const b of bases) {
        for await (const page of conn.search({ ...b, attributes: ['entryCSN'], binary: new Set<string>(), pageSize: this.s.pageSize }, 'reading the change mark', query.signal)) {
          for (const e of page) highest = maxCsn(highest, firstText(e, 'entryCSN'));
        }
      }
      yield undefined;
    }.bind(this)));
    return highest;
  }

  private async deletedSince(from: bigint, signal?: AbortSignal): Promise<SourceRemoval[]> {
    const out: SourceRemoval[] = [];
    try {
      for await (const _ of this.source.withRestarts('reading deleted objects', signal, async function* (this: LdapChanges, conn: LdapConnection) {
        out.length = 0;
        const [root] = await conn.all({ base: '', scope: 'base', filter: '(objectClass=*)', attributes: ['defaultNamingContext'], binary: new Set() }, 'reading the rootDSE', signal);
        const domain = root ? firstText(root, 'defaultNamingContext') : undefined;
        if (!domain) return;
        const spec = { base: `CN=Deleted Objects,${domain}`, scope: 'one' as const, filter: `(&(isDeleted=TRUE)(objectClass=user)(uSNChanged>=${from}))`, attributes: ['objectGUID'], binary: new Set(['objectguid']), pageSize: this.s.pageSize, controls: [new Control(SHOW_DELETED, { critical: true })] };
        for await (const page of conn.search(spec, 'reading deleted objects', signal)) {
          for (const e of page) {
            const id = textValues('objectGUID', e.attrs.get('objectGUID'))[0];
            if (id) out.push({ id: id.toLowerCase(), reason: 'deleted' });
          }
        }
        yield undefined;
      }.bind(this)));
    } catch (e) {
      // Without read access to Deleted Objects, deletions are noticed by the next full read.
      if (e instanceof IdsyncError && (e.code === 'AUTH' || e.code === 'CONFIG')) return [];
      throw e;
    }
    return out;
  }
}

/** The later of two entryCSNs (their text orders as their time). */
function maxCsn(a: string, b: string | undefined): string {
  return b && b > a ? b : a;
}

export { filterValue };
