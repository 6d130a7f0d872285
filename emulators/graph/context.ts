// What every Graph route handler receives once the bearer token has been checked.
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import type { Directory } from './directory.ts';
import type { IssuedToken } from './auth.ts';
import { hasAny } from './auth.ts';
import { accessDenied, badRequest, unsupportedQuery, graphError } from './errors.ts';
import { ODataError } from './odata.ts';

export interface GraphCall {
  req: EmulatorRequest;
  dir: Directory;
  grant: IssuedToken;
}

export type GraphHandler = (c: GraphCall) => EmulatorResponse;

export const READ_USERS = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
export const READ_MEMBERSHIP = ['GroupMember.Read.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
export const READ_APPLICATIONS = ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
export const READ_SECURITY_ATTRIBUTES = ['CustomSecAttributeAssignment.Read.All', 'CustomSecAttributeAssignment.ReadWrite.All'];

/** Wraps a handler with a permission check and turns OData parse errors into Graph 400s. */
export function requires(permissions: readonly string[], handler: GraphHandler): GraphHandler {
  return (c) => {
    if (!hasAny(c.grant, permissions)) return accessDenied();
    try {
      return handler(c);
    } catch (e) {
      if (e instanceof ODataError) return e.code === 'Request_UnsupportedQuery' ? unsupportedQuery(e.message) : badRequest(e.message);
      throw e;
    }
  };
}

/** `$count=true` on a directory collection without `ConsistencyLevel: eventual`: Graph's 400 (as for `/users/$count`). */
export function countWithoutConsistency(req: EmulatorRequest): EmulatorResponse | undefined {
  if (req.query.get('$count')?.toLowerCase() !== 'true' || hasEventualConsistency(req)) return undefined;
  return badRequest('$count is not currently supported without the ConsistencyLevel: eventual header.');
}

export function hasEventualConsistency(req: EmulatorRequest): boolean {
  return String(req.headers.consistencylevel ?? '').toLowerCase() === 'eventual';
}

/**
 * "Use of OData cast with another query parameter" is listed among the scenarios supported only
 * in advanced queries (aad-advanced-queries.md, e.g. `transitiveMemberOf/microsoft.graph.group?$count=true`):
 * a cast segment plus any query option other than the paging token needs ConsistencyLevel + $count.
 */
export function castNeedsAdvanced(req: EmulatorRequest): EmulatorResponse | undefined {
  if (req.params.cast === undefined || isAdvanced(req)) return undefined;
  const options = [...req.query.keys()].filter((k) => k.startsWith('$') && k.toLowerCase() !== '$skiptoken');
  if (options.length === 0) return undefined;
  return unsupportedQuery(`An OData cast together with ${options.join(', ')} requires advanced query parameters (ConsistencyLevel: eventual and $count=true).`);
}

/** Advanced query mode: `ConsistencyLevel: eventual` header plus `$count=true`. */
export function isAdvanced(req: EmulatorRequest): boolean {
  return hasEventualConsistency(req) && req.query.get('$count')?.toLowerCase() === 'true';
}

export function notImplemented(message: string): EmulatorResponse {
  return graphError(501, 'NotImplemented', message);
}

/** Graph's cost model (identity service): base cost, -1 for $select, +1 for $expand, -1 for $top < 20; never below 1. */
export function resourceUnits(base: number, req: EmulatorRequest): number {
  let cost = base;
  if (req.query.has('$select')) cost -= 1;
  if (req.query.has('$expand')) cost += 1;
  const top = Number(req.query.get('$top'));
  if (Number.isFinite(top) && top > 0 && top < 20) cost -= 1;
  return Math.max(1, cost);
}
