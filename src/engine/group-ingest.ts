// Groups into the shadow (store/shadow-groups.ts), and what a group's rename or deletion does to
// its members. A complete read's group list (UserPage.groupList) is recorded as it is: the
// users' records it brought already carry the current names. A change feed, though, names a
// group by id and re-reads only users whose *memberships* changed: a group renamed (or deleted)
// with no member change re-reads nobody. Here the shadow's last name of that group is looked up,
// and the records of the users that carry it are rewritten (the old name out, the new one in)
// and handed back to the engine, which ingests them as changed records and projects them in the
// same run, so the targets' group memberships follow without waiting for a full sync.
import type { GroupChange, SourceGroup, SourceUser } from '../core/types.ts';
import type { ShadowRepo } from '../store/shadow.ts';
import { keysetPages } from '../store/keyset.ts';
import { groupFingerprint, type ShadowGroup } from '../store/shadow-groups.ts';
import { userOf } from './shadow-record.ts';
import { membersEntering, type EnteredGroup } from './group-entered.ts';
import { exceedsSafety, type SafetyThreshold } from './read-guard.ts';

/** Members rewritten per chunk handed to the engine. */
const MEMBERS_PER_CHUNK = 500;

/** A group whose name its members lose: renamed (`to`), or deleted, out of the group filter or missing from the census (`to` null). */
interface NameChange {
  groupId: string;
  from: string;
  to: string | null;
  left?: boolean;
  missing?: boolean;
}

export class GroupIngest {
  /** Ids the run's complete read listed (set by recordListing): the sweep tombstones the others. */
  private listed: Set<string> | undefined;
  /** The feed's group changes, merged by id (the last name, deleted or left the filter, or not), applied once the read ends. */
  private readonly noted = new Map<string, { name?: string; deleted: boolean; left?: boolean; missing?: boolean }>();

  constructor(
    private readonly shadow: ShadowRepo,
    private readonly connectorId: string,
    /** False in a dry run: the shadow of groups is compared with, never written. */
    private readonly write: boolean,
    /** The source's member ids of a group (SourceConnector.groupMemberIds), for a group that became one of the connector's (group-entered.ts). */
    private readonly membersOf?: (groupId: string) => Promise<string[] | null>,
  ) {}

  /** A complete read's group list: rows written for groups new, renamed or back; the rest untouched. */
  async recordListing(groups: readonly SourceGroup[]): Promise<void> {
    const known = await this.shadow.groups.all(this.connectorId);
    const byId = new Map(groups.map((g) => [g.id, g.name]));
    this.listed = new Set(byId.keys());
    const changed: ShadowGroup[] = [];
    for (const [groupId, name] of byId) {
      if (known.get(groupId)?.fingerprint !== groupFingerprint(name, null)) changed.push({ groupId, name, tombstone: null, tombstoneAt: null });
    }
    if (this.write) await this.shadow.groups.put(this.connectorId, changed);
  }

  /**
   * After a complete read the engine trusts (the same verdict as for the users' sweep): groups
   * it did not list get a tombstone. Only when the read gave a group list at all: a source that
   * does not list groups leaves the shadow of groups as it is.
   */
  async sweep(): Promise<number> {
    if (!this.listed) return 0;
    const now = new Date().toISOString();
    const gone = [...(await this.shadow.groups.all(this.connectorId)).values()]
      .filter((g) => !g.tombstone && !this.listed!.has(g.groupId))
      .map((g): ShadowGroup => ({ groupId: g.groupId, name: g.name, tombstone: 'not-returned', tombstoneAt: now }));
    if (this.write) await this.shadow.groups.put(this.connectorId, gone);
    return gone.length;
  }

  /** Notes a batch's group changes; applied when the read has ended (apply), after every re-read user is in. */
  note(changes: readonly GroupChange[]): void {
    for (const c of changes) {
      const n = this.noted.get(c.id) ?? { deleted: false };
      if (c.name !== undefined) n.name = c.name;
      if (c.deleted) n.deleted = true;
      // Left the filter, unless a later change of the run names it again (renamed back in).
      n.left = c.left === true ? true : c.name !== undefined ? false : n.left;
      this.noted.set(c.id, n);
    }
  }

  /**
   * A change round's census of the groups in scope (ChangePage.groupCensus): a live group of the
   * shadow that it does not list is gone for the connector (deleted, or out of its group scope:
   * the census cannot tell which, so it is tombstoned `not-returned` as by a full read's sweep)
   * and noted like a deletion the feed reported, so apply() takes its name from its members in
   * this run. A census that lists no group while the shadow holds some, or that would take more
   * groups than the safety threshold allows (read-guard.ts: more than maxUsers and maxPercent %
   * of the live groups), looks like a bad read, not a change: nothing is noted, and the returned
   * text says why (for the run's notice); the next full sync decides.
   */
  async noteCensus(ids: readonly string[], safety: SafetyThreshold): Promise<string | undefined> {
    const listed = new Set(ids);
    const live = [...(await this.shadow.groups.all(this.connectorId)).values()].filter((g) => !g.tombstone);
    const missing = live.filter((g) => !listed.has(g.groupId));
    if (missing.length === 0) return undefined;
    if (listed.size === 0) return `the identity provider's census of groups listed none while idsync knows ${live.length}: no group is taken for gone (the next full sync decides)`;
    if (exceedsSafety(missing.length, live.length, safety)) {
      return `the identity provider's census of groups left out ${missing.length} of the ${live.length} groups idsync knows, more than the safety threshold (${safety.maxUsers} and ${safety.maxPercent}%) allows: no group is taken for gone (the next full sync decides)`;
    }
    for (const g of missing) {
      const n = this.noted.get(g.groupId) ?? { deleted: false };
      n.missing = true;
      this.noted.set(g.groupId, n);
    }
    return undefined;
  }

  get hasChanges(): boolean {
    return this.noted.size > 0;
  }

  /**
   * The renames and deletions among the changes noted: yields the members of each (live shadow
   * users whose groups hold the old name) with their records rewritten, a chunk at a time, for
   * the engine to ingest and project; then writes the group rows. Members first: a run that dies
   * in between leaves the group under its old name, so the feed's replay of the change (the
   * checkpoint is stored only after the run) finds the members that still carry it.
   * Users re-read in this run already carry the provider's current names, so they are not found.
   */
  async *apply(tell: (notice: string) => void): AsyncIterable<SourceUser[]> {
    const known = await this.shadow.groups.getMany(this.connectorId, [...this.noted.keys()]);
    const now = new Date().toISOString();
    const rows: ShadowGroup[] = [];
    const changes: NameChange[] = [];
    const entering: EnteredGroup[] = [];
    for (const [groupId, n] of this.noted) {
      const prev = known.get(groupId);
      if (n.deleted || n.left || n.missing) {
        // A group the shadow never knew by name: nobody carries a name of it that it could tell.
        if (!prev || prev.tombstone) continue;
        const kind = n.deleted ? {} : n.left ? { left: true } : { missing: true };
        changes.push({ groupId, from: prev.name, to: null, ...kind });
        rows.push({ groupId, name: prev.name, tombstone: n.deleted ? 'deleted' : 'not-returned', tombstoneAt: now });
        continue;
      }
      if (n.name === undefined || (prev && !prev.tombstone && prev.name === n.name)) continue;
      if (prev && !prev.tombstone) changes.push({ groupId, from: prev.name, to: n.name });
      else if (this.membersOf) entering.push({ groupId, name: n.name });
      rows.push({ groupId, name: n.name, tombstone: null, tombstoneAt: null });
    }
    this.noted.clear();
    for (const c of changes) {
      const why = await this.unclear(c, changes);
      if (why) {
        tell(`group '${c.from}' ${c.missing ? 'is no longer listed by the identity provider' : `was ${c.to === null ? 'deleted' : `renamed '${c.to}'`} in the identity provider`}, but ${why}: its members follow at the next full sync`);
        continue;
      }
      let members = 0;
      for await (const ids of keysetPages('', MEMBERS_PER_CHUNK, (after) => this.shadow.groups.membersNamed(this.connectorId, c.from, after, MEMBERS_PER_CHUNK), (id) => id)) {
        const users: SourceUser[] = [];
        for (const row of (await this.shadow.getMany(this.connectorId, ids)).values()) {
          if (row.tombstone || !row.record?.groups?.includes(c.from)) continue;
          const groups = new Set(row.record.groups.filter((g) => g !== c.from));
          if (c.to !== null) groups.add(c.to);
          users.push(userOf(row.sourceId, { ...row.record, groups: [...groups].sort() }));
        }
        members += users.length;
        if (users.length) yield users;
      }
      // None found is usual where the feed re-reads a renamed group's members (LDAP): their
      // records came with the new name already, so "0 members carry the new name" would mislead.
      const followed = members > 0
        ? `${members} member${members === 1 ? '' : 's'} ${c.to === null ? 'lost it' : 'carry the new name'}`
        : `no member still carried ${c.to === null ? 'it' : 'the old name'} (members read in this run came with the provider's current groups)`;
      tell(`group '${c.from}' ${c.left ? 'was renamed out of the connector\'s groupFilter' : c.missing ? 'is no longer among the identity provider\'s groups in the connector\'s scope (deleted, or moved out of it)' : c.to === null ? 'was deleted in the identity provider' : `was renamed '${c.to}' in the identity provider`}: ${followed}`);
    }
    // New to the connector (renamed into its groupFilter, or created): its members, read from the source, get it.
    for (const g of entering) yield* membersEntering(this.shadow, this.connectorId, g, this.membersOf!, tell);
    if (this.write) await this.shadow.groups.put(this.connectorId, rows);
  }

  /**
   * Why the members of a name change cannot be told by name: another live group has the same
   * name (display names are not unique in every provider), or the old name is the new name of
   * another change of this run (a swap: members of both would be rewritten twice).
   */
  private async unclear(c: NameChange, all: readonly NameChange[]): Promise<string | undefined> {
    if ((await this.shadow.groups.liveNamed(this.connectorId, c.from)).some((id) => id !== c.groupId)) return `another group of the same name exists`;
    if (all.some((o) => o !== c && (o.to === c.from || o.from === c.to || o.from === c.from))) return 'other groups were renamed to or from the same names in the same change';
    return undefined;
  }
}
