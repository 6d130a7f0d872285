// A group that became one of the connector's groups in a change feed: renamed into the Entra
// connector's groupFilter (a listing would now return it) or created. Delta reports only its new
// name, and no member changed, so nobody is re-read: its members would get it only at the next
// full sync. Here its members are read from the source (SourceConnector.groupMemberIds: paged,
// checked against the provider's count; a failed read fails the run, as any read does), and the
// shadow records of those that are live gain the name and go back to the engine as changed
// records, projected in the same run (the target's group rule adds the group). Members re-read in
// this run already carry it and are left out; members the shadow does not know are not the
// connector's users (out of its scope).
import type { SourceUser } from '../core/types.ts';
import type { ShadowRepo } from '../store/shadow.ts';
import { userOf } from './shadow-record.ts';

export interface EnteredGroup {
  groupId: string;
  name: string;
}

const CHUNK = 500;

export async function* membersEntering(shadow: ShadowRepo, connectorId: string, g: EnteredGroup, membersOf: (groupId: string) => Promise<string[] | null>, tell: (notice: string) => void): AsyncIterable<SourceUser[]> {
  const ids = await membersOf(g.groupId);
  if (ids === null) return; // deleted since: the next round says so
  let members = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const users: SourceUser[] = [];
    for (const row of (await shadow.getMany(connectorId, ids.slice(i, i + CHUNK))).values()) {
      if (row.tombstone || !row.record || row.record.groups?.includes(g.name)) continue;
      users.push(userOf(row.sourceId, { ...row.record, groups: [...(row.record.groups ?? []), g.name].sort() }));
    }
    members += users.length;
    if (users.length) yield users;
  }
  if (members > 0) tell(`group '${g.name}' became one of the connector's groups (renamed into its groupFilter, or new): ${members} member${members === 1 ? '' : 's'} got it`);
}
