// /v1.0/groups: list (filter, select, paging), get, members / transitiveMembers (with cast).
import type { EmulatorResponse } from '../common/server.ts';
import { badRequest, notFound, unsupportedQuery } from './errors.ts';
import { GROUP_PROPERTIES, type DirectoryObject } from './directory.ts';
import { page, queryHash, readTop } from './listing.ts';
import { evaluate, filterPaths, parseFilter, parseSelect } from './odata.ts';
import { castType, projectGroup, projectObject } from './serialize.ts';
import { castNeedsAdvanced, countWithoutConsistency, isAdvanced, resourceUnits, type GraphCall } from './context.ts';
import { advancedClause } from './advanced-filters.ts';

function checkGroupSelect(select: string[] | undefined): EmulatorResponse | undefined {
  const bad = select?.find((p) => !GROUP_PROPERTIES.has(p));
  return bad ? badRequest(`Could not find a property named '${bad}' on type 'microsoft.graph.group'.`) : undefined;
}

export function listGroups(c: GraphCall): EmulatorResponse {
  const { req, dir } = c;
  const select = parseSelect(req.query.get('$select'));
  const bad = checkGroupSelect(select);
  if (bad) return bad;
  const top = readTop(req);
  if (typeof top !== 'number') return top;
  const advanced = isAdvanced(req);
  const countRefused = countWithoutConsistency(req);
  if (countRefused) return countRefused;
  const filterText = req.query.get('$filter');
  const filter = filterText ? parseFilter(filterText) : undefined;
  if (filter) {
    const unknown = filterPaths(filter).find((p) => !GROUP_PROPERTIES.has(p[0]!));
    if (unknown) return badRequest(`Property '${unknown[0]}' does not exist as a declared property or extension property.`);
    const clause = advanced ? undefined : advancedClause('group', filter);
    if (clause) return unsupportedQuery(clause);
  }
  const key = queryHash(['groups', filterText, String(dir.version)]);
  return page({
    req,
    items: dir.listGroups(key, filter),
    top,
    hash: key,
    count: advanced,
    context: `${req.origin}/v1.0/$metadata#groups${select ? `(${select.join(',')})` : ''}`,
    headers: { 'x-ms-resource-unit': String(resourceUnits(1, req)) },
    toJson: (g) => projectGroup(g, select),
  });
}

export function getGroup(c: GraphCall): EmulatorResponse {
  const group = c.dir.group(c.req.params.id!);
  if (!group) return notFound(c.req.params.id!);
  const select = parseSelect(c.req.query.get('$select'));
  const bad = checkGroupSelect(select);
  if (bad) return bad;
  return { status: 200, body: { '@odata.context': `${c.req.origin}/v1.0/$metadata#groups/$entity`, ...projectGroup(group, select) } };
}

/** Member lists by query (see groupMembers), the 16 last used. */
const memberLists = new Map<string, DirectoryObject[]>();

export function groupMembers(transitive: boolean) {
  return (c: GraphCall): EmulatorResponse => {
    const { req, dir } = c;
    const group = dir.group(req.params.id!);
    if (!group) return notFound(req.params.id!);
    const cast = castType(req.params.cast);
    if (cast === undefined || cast === 'directoryRole') return unsupportedQuery(`The type '${req.params.cast}' is not a supported cast for this collection.`);
    const refused = countWithoutConsistency(req) ?? castNeedsAdvanced(req);
    if (refused) return refused;
    const top = readTop(req);
    if (typeof top !== 'number') return top;
    const select = parseSelect(req.query.get('$select'));
    const filterText = req.query.get('$filter');
    const segment = transitive ? 'transitiveMembers' : 'members';
    // The member list of one query, kept while the directory is unchanged (its version is in the
    // key): every page of a group's listing used to rebuild it, so paging a group of 1,000,000
    // members cost a million steps per page of 999 (hours at 1M users, bench/capacity.ts).
    const key = queryHash([segment, group.id, req.params.cast, filterText, String(dir.version)]);
    let items = memberLists.get(key);
    if (!items) {
      items = dir.members(group.id, transitive);
      if (cast !== 'none') items = items.filter((o) => o.type === cast);
      if (filterText) {
        const f = parseFilter(filterText);
        items = items.filter((o) => evaluate(f, o.obj as unknown as Record<string, unknown>));
      }
      if (memberLists.size >= 16) memberLists.delete(memberLists.keys().next().value!);
      memberLists.set(key, items);
    }
    return page({
      req,
      items,
      top,
      hash: key,
      context: `${req.origin}/v1.0/$metadata#directoryObjects`,
      count: isAdvanced(req),
      headers: { 'x-ms-resource-unit': String(resourceUnits(transitive ? 5 : 3, req)) },
      toJson: (o) => projectObject(o, select, false),
    });
  };
}
