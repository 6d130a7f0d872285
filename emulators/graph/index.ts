// Microsoft Graph v1.0 + Entra token endpoint emulator, on loopback, over TLS by default
// (the official Graph client only sends its token over https). See README.md for what is
// emulated and how faithfully.
import { randomUUID } from 'node:crypto';
import { Router, startEmulator, type EmulatorRequest, type EmulatorResponse, type RunningEmulator } from '../common/server.ts';
import { generateOrg } from '../org/index.ts';
import type { Org } from '../org/types.ts';
import { TokenService, type GraphClientRegistration } from './auth.ts';
import { batchHandler, type BatchStats, type InnerFault } from './batch.ts';
import { READ_APPLICATIONS, READ_MEMBERSHIP, READ_USERS, requires, type GraphHandler } from './context.ts';
import { Directory, GROUP_UPDATABLE } from './directory.ts';
import { DeltaService, type DeltaOptions, type ExpiryAnswer } from './delta.ts';
import { graphErrorForStatus } from './errors.ts';
import { getGroup, groupMembers, listGroups } from './groups.ts';
import { availableExtensionProperties, getManager, getUser, listUsers, memberOf } from './users.ts';

export type { GraphClientRegistration } from './auth.ts';
export type { InnerFault } from './batch.ts';
export { Directory } from './directory.ts';
export type { DeltaOptions, ExpiryAnswer } from './delta.ts';

/** A client every emulator accepts unless `clients` is given (demo and quick tests). */
export const DEFAULT_GRAPH_CLIENT: Required<Pick<GraphClientRegistration, 'clientId' | 'clientSecret'>> = {
  clientId: '6f1c0a1e-5b7d-4c1e-9a1d-2f3e4d5c6b7a',
  clientSecret: 'emulator-client-secret',
};

export interface GraphEmulatorOptions {
  /** The directory to serve; default: generateOrg({ users, seed }). */
  org?: Org;
  users?: number;
  seed?: number;
  /** Default true. */
  tls?: boolean;
  /** Tenant id accepted by the token endpoint (the org's domains are accepted too); default: the org's. */
  tenantId?: string;
  clients?: GraphClientRegistration[];
  host?: string;
  port?: number;
  /** Page sizes of /users/delta and /groups/delta. */
  delta?: DeltaOptions;
}

export interface GraphEmulator extends RunningEmulator {
  tenantId: string;
  /** Base for token requests: `${authorityHost}/${tenantId}/oauth2/v2.0/token`. */
  authorityHost: string;
  /** Base for Graph calls (`${graphUrl}/v1.0/users`). */
  graphUrl: string;
  directory: Directory;
  tokens: TokenService;
  batchStats: BatchStats;
  /** Scripted failures of single requests inside $batch. */
  setBatchFaults(faults: InnerFault[]): void;
  /** What the client cost the tenant: Graph calls answered and the resource units they were charged. */
  usage: GraphUsage;
  /** Delta queries: token expiry and the emulated clock. */
  delta: DeltaService;
}

/**
 * Graph throttles and charges each call on its own, requests inside a $batch included, so the
 * calls counted here are those (direct or batched; the $batch envelope itself is not one) and
 * resource units are the sum of their `x-ms-resource-unit` costs.
 */
export interface GraphUsage {
  calls: number;
  resourceUnits: number;
}

export async function startGraphEmulator(opts: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const directory = new Directory(opts.org ?? generateOrg({ users: opts.users ?? 300, seed: opts.seed ?? 1 }));
  const tenantId = () => opts.tenantId ?? directory.org.tenantId;
  const clients = opts.clients ?? [DEFAULT_GRAPH_CLIENT];
  const tokens = new TokenService(() => [tenantId(), directory.org.initialDomain, directory.org.domain], tenantId, clients);
  const batchFaults: InnerFault[] = [];
  const batchStats: BatchStats = { batches: 0, innerRequests: 0, innerFaults: 0 };
  const usage: GraphUsage = { calls: 0, resourceUnits: 0 };
  const delta = new DeltaService(opts.delta);

  // Every Graph route: bearer token first, then the permission check, then the handler.
  const graph = (permissions: readonly string[], handler: GraphHandler) => {
    const guarded = requires(permissions, handler);
    return (req: EmulatorRequest): EmulatorResponse => {
      const clientRequestId = typeof req.headers['client-request-id'] === 'string' ? req.headers['client-request-id'] : randomUUID();
      const grant = tokens.authenticate(req);
      const res = 'status' in grant ? grant : guarded({ req, dir: directory, grant });
      usage.calls++;
      usage.resourceUnits += Number(res.headers?.['x-ms-resource-unit'] ?? 0) || 0;
      return { ...res, headers: { 'request-id': randomUUID(), 'client-request-id': clientRequestId, ...res.headers } };
    };
  };

  const api = new Router();
  // Before /users/:id. `/delta` is shorthand for the function's full name, which SDKs send.
  for (const name of ['delta', 'microsoft.graph.delta', 'delta()', 'microsoft.graph.delta()']) {
    api.on('GET', `/v1.0/users/${name}`, graph(READ_USERS, delta.handler('users')));
    api.on('GET', `/v1.0/groups/${name}`, graph(READ_MEMBERSHIP, delta.handler('groups')));
  }
  api
    .on('GET', '/v1.0/users', graph(READ_USERS, listUsers))
    .on('GET', '/v1.0/users/:id', graph(READ_USERS, getUser))
    .on('GET', '/v1.0/users/:id/manager', graph(READ_USERS, getManager))
    .on('GET', '/v1.0/users/:id/memberOf', graph(READ_MEMBERSHIP, memberOf(false)))
    .on('GET', '/v1.0/users/:id/memberOf/:cast', graph(READ_MEMBERSHIP, memberOf(false)))
    .on('GET', '/v1.0/users/:id/transitiveMemberOf', graph(READ_MEMBERSHIP, memberOf(true)))
    .on('GET', '/v1.0/users/:id/transitiveMemberOf/:cast', graph(READ_MEMBERSHIP, memberOf(true)))
    .on('GET', '/v1.0/groups', graph(READ_MEMBERSHIP, listGroups))
    .on('GET', '/v1.0/groups/:id', graph(READ_MEMBERSHIP, getGroup))
    .on('GET', '/v1.0/groups/:id/members', graph(READ_MEMBERSHIP, groupMembers(false)))
    .on('GET', '/v1.0/groups/:id/members/:cast', graph(READ_MEMBERSHIP, groupMembers(false)))
    .on('GET', '/v1.0/groups/:id/transitiveMembers', graph(READ_MEMBERSHIP, groupMembers(true)))
    .on('GET', '/v1.0/groups/:id/transitiveMembers/:cast', graph(READ_MEMBERSHIP, groupMembers(true)))
    .on('POST', '/v1.0/directoryObjects/getAvailableExtensionProperties', graph(READ_APPLICATIONS, availableExtensionProperties))
    .on('GET', '/v1.0/organization', graph(READ_USERS, (c) => ({
      status: 200,
      body: { value: [{ id: tenantId(), displayName: `${c.dir.org.domain.split('.')[0]} (emulated)`, verifiedDomains: [{ name: c.dir.org.domain, isDefault: true }, { name: c.dir.org.initialDomain, isInitial: true }] }] },
    })));
  api.on('POST', '/v1.0/$batch', batchHandler(api, batchFaults, batchStats));

  const router = api
    .on('POST', '/:tenant/oauth2/v2.0/token', (req) => tokens.token(req))
    .on('GET', '/:tenant/v2.0/.well-known/openid-configuration', (req) => ({ status: 200, body: tokens.openIdConfiguration(req.origin, req.params.tenant!) }))
    .on('GET', '/common/discovery/instance', (req) => {
      const host = new URL(req.origin).host;
      return {
        status: 200,
        body: {
          tenant_discovery_endpoint: `${req.origin}/${tenantId()}/v2.0/.well-known/openid-configuration`,
          'api-version': '1.1',
          metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
        },
      };
    });

  const control = new Router()
    .on('POST', '/org', (req) => {
      const b = (req.body ?? {}) as { users?: number; seed?: number; company?: string; org?: Org };
      directory.replace(b.org ?? generateOrg({ users: b.users, seed: b.seed, company: b.company }));
      return { status: 200, body: directory.stats() };
    })
    .on('GET', '/directory', () => ({ status: 200, body: { ...directory.stats(), tokensIssued: tokens.issued, batch: batchStats, usage } }))
    .on('GET', '/users/:id', (req) => {
      const u = directory.findUser(req.params.id!);
      return u ? { status: 200, body: u } : { status: 404, body: { error: 'no such user' } };
    })
    .on('PATCH', '/users/:id', (req) => {
      const u = directory.updateUser(req.params.id!, (req.body ?? {}) as Record<string, unknown>);
      return u ? { status: 200, body: u } : { status: 404, body: { error: 'no such user' } };
    })
    // Permanent deletion (delta: @removed reason "deleted").
    .on('DELETE', '/users/:id', (req) => (directory.deleteUser(req.params.id!) ? { status: 204 } : { status: 404, body: { error: 'no such user' } }))
    // Into deleted items, restorable (delta: @removed reason "changed"), and back.
    .on('POST', '/users/:id/soft-delete', (req) => (directory.softDeleteUser(req.params.id!) ? { status: 204 } : { status: 404, body: { error: 'no such user' } }))
    .on('POST', '/users/:id/restore', (req) => (directory.restoreUser(req.params.id!) ? { status: 204 } : { status: 404, body: { error: 'no such deleted user' } }))
    .on('PUT', '/users/:id/manager', (req) => {
      const managerId = ((req.body ?? {}) as { managerId?: string | null }).managerId ?? null;
      return directory.setManager(req.params.id!, managerId) ? { status: 204 } : { status: 404, body: { error: 'no such user or manager' } };
    })
    .on('POST', '/groups/:id/members', (req) => {
      const b = (req.body ?? {}) as { add?: string[]; remove?: string[] };
      const group = directory.group(req.params.id!);
      if (!group) return { status: 404, body: { error: 'no such group' } };
      const unknown = (b.add ?? []).filter((m) => !directory.object(m));
      if (unknown.length) return { status: 404, body: { error: `no such member: ${unknown.join(', ')}` } };
      for (const m of b.remove ?? []) directory.removeMember(group.id, m);
      for (const m of b.add ?? []) directory.addMember(group.id, m);
      return { status: 200, body: { id: group.id, members: group.members.length } };
    })
    // A property change of a group, e.g. a rename ({displayName}); delta reports the group changed.
    .on('PATCH', '/groups/:id', (req) => {
      const patch = (req.body ?? {}) as Record<string, unknown>;
      const unknown = Object.keys(patch).filter((k) => !GROUP_UPDATABLE.has(k));
      if (unknown.length) return { status: 400, body: { error: `not an updatable group property: ${unknown.join(', ')}` } };
      if ('displayName' in patch && (typeof patch.displayName !== 'string' || !patch.displayName.trim())) return { status: 400, body: { error: 'displayName must be a non-empty string' } };
      const group = directory.updateGroup(req.params.id!, patch);
      return group ? { status: 200, body: group } : { status: 404, body: { error: 'no such group' } };
    })
    .on('DELETE', '/groups/:id', (req) => (directory.deleteGroup(req.params.id!) ? { status: 204 } : { status: 404, body: { error: 'no such group' } }))
    .on('POST', '/delta/expire', (req) => {
      const answer = ((req.body ?? {}) as { answer?: ExpiryAnswer }).answer ?? 'syncStateNotFound';
      if (!['syncStateNotFound', 'resyncRequired', 'gone'].includes(answer)) return { status: 400, body: { error: 'answer must be syncStateNotFound, resyncRequired or gone' } };
      delta.expireAll(answer);
      return { status: 200, body: { answer } };
    })
    .on('POST', '/clock', (req) => {
      const advanceMs = Number(((req.body ?? {}) as { advanceMs?: number }).advanceMs ?? 0);
      if (!Number.isFinite(advanceMs) || advanceMs < 0) return { status: 400, body: { error: 'advanceMs must be a number >= 0' } };
      delta.clockOffsetMs += advanceMs;
      return { status: 200, body: { now: new Date(delta.now()).toISOString() } };
    })
    .on('POST', '/tokens/expire', () => ({ status: 200, body: { expired: tokens.expireAll() } }))
    .on('POST', '/batch-faults', (req) => {
      setBatchFaults(((req.body ?? {}) as { script?: InnerFault[] }).script ?? []);
      return { status: 200, body: { script: batchFaults } };
    });

  const setBatchFaults = (faults: InnerFault[]) => {
    batchFaults.splice(0, batchFaults.length, ...faults.map((f) => ({ ...f })));
  };

  const running = await startEmulator({
    name: 'graph',
    router,
    tls: opts.tls ?? true,
    host: opts.host,
    port: opts.port,
    errorBody: graphErrorForStatus,
    rateLimitHeaders: () => ({ 'x-ms-throttle-information': 'ResourceUnitLimitExceeded', 'x-ms-throttle-scope': `Tenant_Application/ReadOnly/*/${tenantId()}` }),
    exempt: (path) => path.includes('/.well-known/') || path.startsWith('/common/discovery'),
    onReset: () => {
      setBatchFaults([]);
      Object.assign(usage, { calls: 0, resourceUnits: 0 });
    },
    control,
  });

  return Object.assign(running, {
    tenantId: tenantId(),
    authorityHost: running.url,
    graphUrl: running.url,
    directory,
    tokens,
    batchStats,
    setBatchFaults,
    usage,
    delta,
  });
}
