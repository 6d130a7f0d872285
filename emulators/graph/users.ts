// /v1.0/users: list (select, filter, count, orderby, expand=manager, paging), get by id or
// UPN, manager, memberOf / transitiveMemberOf (with OData cast), and the extension catalogue.
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import type { OrgUser } from '../org/types.ts';
import { SINGLE_USER_ONLY, type Directory } from './directory.ts';
import { badRequest, notFound, unsupportedQuery } from './errors.ts';
import { DEFAULT_TOP, page, queryHash, readTop } from './listing.ts';
import { evaluate, filterExpressions, filterPaths, parseExpand, parseFilter, parseSelect, type ExpandSpec, type FilterNode } from './odata.ts';
import { castType, projectObject, projectUser } from './serialize.ts';
import { READ_SECURITY_ATTRIBUTES, castNeedsAdvanced, countWithoutConsistency, hasEventualConsistency, isAdvanced, notImplemented, resourceUnits, type GraphCall } from './context.ts';
import { hasAny as hasAnyPermission } from './auth.ts';
import { advancedClause } from './advanced-filters.ts';

/** Adding $expand=manager to a user list silently caps the page at 100 (Graph known issue). */
export const EXPAND_PAGE_CAP = 100;

const FILTERABLE_COMPLEX = new Set(['onPremisesExtensionAttributes', 'employeeOrgData', 'proxyAddresses', 'otherMails', 'businessPhones', 'identities', 'assignedLicenses', 'imAddresses']);

function checkSelect(dir: Directory, select: string[] | undefined, list: boolean): EmulatorResponse | undefined {
  for (const p of select ?? []) {
    if (SINGLE_USER_ONLY.has(p)) {
      if (list) return notImplemented(`The property '${p}' is only supported when retrieving a single user; it cannot be selected on a list of users.`);
      continue;
    }
    if (p === 'manager' || !dir.isUserProperty(p)) {
      return badRequest(`Could not find a property named '${p}' on type 'microsoft.graph.user'.`);
    }
  }
  return undefined;
}

function checkFilter(dir: Directory, filter: FilterNode): EmulatorResponse | undefined {
  for (const path of filterPaths(filter)) {
    const [head, sub] = path;
    if (!dir.isUserProperty(head!)) return badRequest(`Property '${head}' does not exist as a declared property or extension property.`);
    if (sub !== undefined && !FILTERABLE_COMPLEX.has(head!)) return badRequest(`Property '${path.join('/')}' is not a valid filter path.`);
  }
  return undefined;
}

/**
 * $expand=manager(...) on a list or a single user. Graph: "$expand is not currently supported
 * with advanced queries" (on lists); `$levels` "is only supported on a single user" and there
 * requires `ConsistencyLevel: eventual` (see docs/protocol-facts.md).
 */
function readExpand(dir: Directory, req: EmulatorRequest, list: boolean): ExpandSpec | undefined | EmulatorResponse {
  const specs = parseExpand(req.query.get('$expand'));
  if (specs.length === 0) return undefined;
  if (specs.length > 1) return badRequest('Only one level and one navigation property can be expanded on users.');
  const spec = specs[0]!;
  if (spec.property !== 'manager') return badRequest(`Expanding '${spec.property}' is not supported by this emulator; only 'manager' is.`);
  if (list && spec.levels !== undefined) return unsupportedQuery('$levels is only supported on a single user (/users/{id}), not on a list of users.');
  if (list && isAdvanced(req)) return unsupportedQuery('$expand is not currently supported with advanced queries (ConsistencyLevel: eventual and $count).');
  if (spec.levels !== undefined && !hasEventualConsistency(req)) {
    return badRequest('$levels in $expand requires the ConsistencyLevel: eventual header.');
  }
  const bad = checkSelect(dir, spec.select, false);
  return bad ?? spec;
}

function withManager(c: GraphCall, u: OrgUser, json: Record<string, unknown>, spec: ExpandSpec, canCsa: boolean): Record<string, unknown> {
  const manager = u.managerId ? c.dir.userById(u.managerId) : undefined;
  if (manager) json.manager = projectUser(manager, { select: spec.select, canReadSecurityAttributes: canCsa, typed: true });
  return json;
}

function parseOrderBy(raw: string | null): { property: string; desc: boolean } | undefined | EmulatorResponse {
  if (raw === null) return undefined;
  const m = /^\s*(displayName|userPrincipalName)(?:\s+(asc|desc))?\s*$/i.exec(raw);
  if (!m) return badRequest(`Sorting by '${raw}' is not supported; use displayName or userPrincipalName.`);
  return { property: m[1]!.toLowerCase() === 'displayname' ? 'displayName' : 'userPrincipalName', desc: m[2]?.toLowerCase() === 'desc' };
}

export function listUsers(c: GraphCall): EmulatorResponse {
  const { req, dir } = c;
  const advanced = isAdvanced(req);
  const countRefused = countWithoutConsistency(req);
  if (countRefused) return countRefused;
  if (req.query.has('$skip')) return badRequest("'$skip' is not supported by the service.");
  const select = parseSelect(req.query.get('$select'));
  const badSelect = checkSelect(dir, select, true);
  if (badSelect) return badSelect;
  const expand = readExpand(dir, req, true);
  if (expand && 'status' in expand) return expand;
  const top = readTop(req);
  if (typeof top !== 'number') return top;

  const filterText = req.query.get('$filter');
  let filter: FilterNode | undefined;
  if (filterText !== null && filterText.trim() !== '') {
    filter = parseFilter(filterText);
    const bad = checkFilter(dir, filter);
    if (bad) return bad;
    const clause = advanced ? undefined : advancedClause('user', filter);
    if (clause) return unsupportedQuery(clause);
    const limits = filterLimits(req, filter, advanced);
    if (limits) return limits;
  }
  const orderBy = parseOrderBy(req.query.get('$orderby'));
  if (orderBy && 'status' in orderBy) return orderBy;
  if (orderBy && filter && !advanced) return unsupportedQuery('Sorting and filtering together require advanced query parameters (ConsistencyLevel: eventual and $count=true).');
  const search = req.query.get('$search');
  if (search !== null && !hasEventualConsistency(req)) {
    return badRequest('Request with $search query parameter only works through MSGraph with a special request header: \'ConsistencyLevel: eventual\'');
  }

  const key = queryHash(['users', filterText, req.query.get('$orderby'), search]);
  let users = dir.listUsers(key, filter, orderBy);
  if (search !== null) users = users.filter(searchMatcher(search));
  const canCsa = hasAnyPermission(c.grant, READ_SECURITY_ATTRIBUTES);
  const ctxSelect = select ? `(${select.join(',')})` : '';
  return page({
    req,
    items: users,
    top: expand ? Math.min(top, EXPAND_PAGE_CAP) : top,
    hash: `${key}.${dir.version}`,
    context: `${req.origin}/v1.0/$metadata#users${ctxSelect}`,
    count: advanced,
    headers: { 'x-ms-resource-unit': String(resourceUnits(2, req)) },
    toJson: (u) => {
      const json = projectUser(u, { select, canReadSecurityAttributes: canCsa });
      return expand ? withManager(c, u, json, expand, canCsa) : json;
    },
  });
}

/**
 * Graph's limits on a user $filter (filter-query-parameter.md, the note on `in`): by default at
 * most 15 expressions in the filter clause; with advanced query parameters the URL may be at
 * most 2,048 characters instead. The error texts are not documented (unsettled).
 */
export const MAX_FILTER_EXPRESSIONS = 15;
export const MAX_ADVANCED_URL = 2048;

function filterLimits(req: EmulatorRequest, filter: FilterNode, advanced: boolean): EmulatorResponse | undefined {
  if (advanced) {
    return req.rawUrl.length > MAX_ADVANCED_URL ? badRequest(`The request URL is ${req.rawUrl.length} characters long; at most ${MAX_ADVANCED_URL} are supported with advanced queries.`) : undefined;
  }
  const n = filterExpressions(filter);
  return n > MAX_FILTER_EXPRESSIONS ? unsupportedQuery(`Too many expressions in the filter clause: ${n}. Max allowed: ${MAX_FILTER_EXPRESSIONS}.`) : undefined;
}

/** `$search="displayName:ann"` style: token-prefix match on the named property. */
function searchMatcher(raw: string): (u: OrgUser) => boolean {
  const clauses = [...raw.matchAll(/"(\w+):([^"]*)"/g)].map((m) => [m[1]!, m[2]!.toLowerCase()] as const);
  return (u) =>
    clauses.some(([prop, term]) => {
      const v = (u as unknown as Record<string, unknown>)[prop];
      return typeof v === 'string' && v.toLowerCase().split(/[\s.@_-]+/).some((w) => w.startsWith(term));
    });
}

export function getUser(c: GraphCall): EmulatorResponse {
  const { req, dir } = c;
  const ref = req.params.id!;
  if (ref === '$count') return countUsers(c);
  const user = dir.findUser(ref);
  if (!user) return notFound(ref);
  const select = parseSelect(req.query.get('$select'));
  const bad = checkSelect(dir, select, false);
  if (bad) return bad;
  const expand = readExpand(dir, req, false);
  if (expand && 'status' in expand) return expand;
  const canCsa = hasAnyPermission(c.grant, READ_SECURITY_ATTRIBUTES);
  const json = { '@odata.context': `${req.origin}/v1.0/$metadata#users${select ? `(${select.join(',')})` : ''}/$entity`, ...projectUser(user, { select, canReadSecurityAttributes: canCsa }) };
  return { status: 200, headers: { 'x-ms-resource-unit': String(resourceUnits(1, req)) }, body: expand ? withManager(c, user, json, expand, canCsa) : json };
}

/**
 * GET /users/$count: the number of users (matching $filter when given) as text/plain. It is an
 * advanced query: without `ConsistencyLevel: eventual` Graph answers 400.
 */
function countUsers(c: GraphCall): EmulatorResponse {
  const { req, dir } = c;
  if (!hasEventualConsistency(req)) return badRequest('$count is not currently supported without the ConsistencyLevel: eventual header.');
  const filterText = req.query.get('$filter');
  let count = dir.org.users.length;
  if (filterText !== null && filterText.trim() !== '') {
    const filter = parseFilter(filterText);
    const bad = checkFilter(dir, filter);
    if (bad) return bad;
    count = dir.listUsers(queryHash(['users', filterText, null, null]), filter).length;
  }
  return { status: 200, headers: { 'content-type': 'text/plain', 'x-ms-resource-unit': String(resourceUnits(1, req)) }, body: String(count) };
}

export function getManager(c: GraphCall): EmulatorResponse {
  const { req, dir } = c;
  const user = dir.findUser(req.params.id!);
  if (!user) return notFound(req.params.id!);
  const manager = user.managerId ? dir.userById(user.managerId) : undefined;
  if (!manager) return notFound('manager');
  const select = parseSelect(req.query.get('$select'));
  const bad = checkSelect(dir, select, false);
  if (bad) return bad;
  return {
    status: 200,
    headers: { 'x-ms-resource-unit': String(resourceUnits(1, req)) },
    body: {
      '@odata.context': `${req.origin}/v1.0/$metadata#directoryObjects/$entity`,
      ...projectUser(manager, { select, canReadSecurityAttributes: hasAnyPermission(c.grant, READ_SECURITY_ATTRIBUTES), typed: true }),
    },
  };
}

/** /users/{id}/memberOf[/cast] and /transitiveMemberOf[/cast]. */
export function memberOf(transitive: boolean) {
  return (c: GraphCall): EmulatorResponse => {
    const { req, dir } = c;
    const user = dir.findUser(req.params.id!);
    if (!user) return notFound(req.params.id!);
    const cast = castType(req.params.cast);
    if (cast === undefined || cast === 'user') return unsupportedQuery(`The type '${req.params.cast}' is not a supported cast for this collection.`);
    const refused = countWithoutConsistency(req) ?? castNeedsAdvanced(req);
    if (refused) return refused;
    const top = readTop(req, DEFAULT_TOP);
    if (typeof top !== 'number') return top;
    const select = parseSelect(req.query.get('$select'));
    let items = dir.memberOf(user.id, transitive);
    if (cast !== 'none') items = items.filter((o) => o.type === cast);
    const filterText = req.query.get('$filter');
    if (filterText) {
      const f = parseFilter(filterText);
      items = items.filter((o) => evaluate(f, o.obj as unknown as Record<string, unknown>));
    }
    const segment = transitive ? 'transitiveMemberOf' : 'memberOf';
    return page({
      req,
      items,
      top,
      hash: queryHash([segment, user.id, req.params.cast, filterText, String(dir.version)]),
      context: `${req.origin}/v1.0/$metadata#directoryObjects`,
      count: isAdvanced(req),
      headers: { 'x-ms-resource-unit': String(resourceUnits(2, req)) },
      toJson: (o) => projectObject(o, select, false),
    });
  };
}

/** POST /directoryObjects/getAvailableExtensionProperties: the tenant's directory extensions. */
export function availableExtensionProperties(c: GraphCall): EmulatorResponse {
  const body = (c.req.body ?? {}) as { isSyncedFromOnPremises?: boolean };
  const props = c.dir.org.extensionProperties.filter((p) => body.isSyncedFromOnPremises === undefined || p.isSyncedFromOnPremises === body.isSyncedFromOnPremises);
  return {
    status: 200,
    body: {
      '@odata.context': `${c.req.origin}/v1.0/$metadata#Collection(microsoft.graph.extensionProperty)`,
      value: props.map((p) => ({ '@odata.type': '#microsoft.graph.extensionProperty', deletedDateTime: null, ...p })),
    },
  };
}
