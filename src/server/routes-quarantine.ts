// Quarantined cleanups (issue 10): list, show with the users held (paged), approve (all, or a
// selection of source ids: each user is re-checked before anything is done, in a run of kind
// `cleanup`), reject. Administrators only: a quarantine names the people a cleanup would touch,
// and approving one disables or deletes accounts.
import { z } from 'zod';
import type { Store } from '../store/index.ts';
import { notFound } from '../store/quarantine.ts';
import { runOut } from './api-schemas.ts';
import { HttpError, type ApiRouter } from './routes.ts';
import type { Services } from './services.ts';
import type { RunTriggers } from '../jobs/triggers.ts';

const quarantineOut = z.object({
  id: z.string(), connectorId: z.string(), status: z.enum(['open', 'approved', 'rejected']),
  reason: z.enum(['empty-read', 'read-drop', 'threshold', 'group-removals']).describe('empty-read: the provider returned nobody in scope while users are linked; read-drop: a complete read left out too many linked users; threshold: the cleanup (and the deactivations of the mapping) would remove more accounts than the safety threshold allows; group-removals: a run would remove more members of managed target groups than the safety threshold allows'),
  message: z.string(), runId: z.string().describe('the run that quarantined the cleanup'), affected: z.number(), held: z.number().describe('users still waiting for a decision'),
  createdAt: z.string(), closedAt: z.string().nullable(), closedBy: z.string().nullable(),
});
const userOut = z.object({
  targetId: z.string(), sourceId: z.string(), label: z.string().nullable(), targetKey: z.string(), targetUsername: z.string().nullable(),
  planned: z.string().describe('what the cleanup policy planned: disable, removeAccess, anonymise, delete, or keep/protected; deactivate: the mapping took the account inactive (user.active false); removeGroups: the memberships of `groups` would be removed'),
  reason: z.enum(['deleted', 'disabled', 'outOfScope', 'deactivated', 'group-removal']),
  groups: z.array(z.string()).optional().describe('group-removal: the target groups whose membership is held'),
  state: z.enum(['held', 'done', 'skipped', 'rejected']), note: z.string().nullable(), runId: z.string().nullable(),
});
const id = z.string().min(1).max(200).regex(/^\P{Cc}*$/u, 'must not contain control characters');

export function quarantineRoutes(api: ApiRouter, deps: { store: Store; services: Services; runs: Pick<RunTriggers, 'approve'> }): void {
  const { store } = deps;

  async function load(qid: string) {
    const q = await store.quarantines.get(qid);
    if (!q) throw new HttpError(404, notFound(qid).describe());
    return q;
  }

  api.route(
    {
      method: 'GET', path: '/api/v1/quarantines', tag: 'quarantines', access: 'administrator', summary: 'Quarantined cleanups, newest first',
      query: z.object({ connectorId: z.string().max(200).optional(), status: z.enum(['open', 'approved', 'rejected']).optional(), limit: z.coerce.number().int().min(1).max(500).default(50), offset: z.coerce.number().int().min(0).default(0) }),
      response: z.object({ total: z.number(), quarantines: z.array(quarantineOut) }),
    },
    async ({ query }) => {
      const { total, items } = await store.quarantines.list(query);
      return { total, quarantines: items };
    },
  );

  api.route(
    {
      method: 'GET', path: '/api/v1/quarantines/:id', tag: 'quarantines', access: 'administrator', summary: 'One quarantine with the users it holds (paged; filter by state)',
      query: z.object({ state: z.enum(['held', 'done', 'skipped', 'rejected']).optional(), offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: z.object({ quarantine: quarantineOut, users: z.object({ total: z.number(), offset: z.number(), items: z.array(userOut) }) }),
      errors: { 404: 'no such quarantine' },
    },
    async ({ params, query }) => {
      const quarantine = await load(params.id!);
      const users = await store.quarantines.users(quarantine.id, query);
      return { quarantine, users: { ...users, offset: query.offset } };
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/quarantines/:id/approve', tag: 'quarantines', access: 'administrator',
      summary: 'Approves the cleanup for all held users, or for the users of sourceIds: each is re-checked in the identity provider first (one who is back is skipped), then cleaned up in a run of kind cleanup',
      body: z.object({ sourceIds: z.array(id).min(1, 'give at least one source id, or leave sourceIds out to approve all').max(10_000).optional() }).strict(),
      response: z.object({ run: runOut, quarantine: quarantineOut, skipped: z.array(z.object({ sourceId: z.string(), targetId: z.string(), note: z.string() })), notHeld: z.array(z.string()) }),
      errors: { 404: 'no such quarantine', 409: 'the quarantine is closed, or a run of its connector is in progress' },
    },
    async ({ params, body, principal }) => {
      const q = await load(params.id!);
      if (q.status !== 'open') throw new HttpError(409, `quarantine ${q.id} is already ${q.status}; only an open quarantine can be approved or rejected`);
      const stored = await store.connectors.get(q.connectorId);
      if (!stored) throw new HttpError(409, `connector ${q.connectorId} no longer exists; reject the quarantine instead`);
      if (!deps.services.engine.approveQuarantine) throw new HttpError(501, 'approving a quarantine is not available in this build of idsync');
      // A job like any trigger: it waits its turn behind the connector's run, runs on whichever
      // instance takes it, and shows in the live view (run events) while it runs.
      return deps.runs.approve({ connector: stored.config, quarantineId: q.id, ...(body.sourceIds ? { sourceIds: body.sourceIds } : {}), by: principal?.user.username ?? null, trigger: principal?.via === 'session' ? 'ui' : 'api' });
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/quarantines/:id/reject', tag: 'quarantines', access: 'administrator', summary: 'Rejects the cleanup: nothing is done to the users still held, and the quarantine is closed',
      body: z.object({}).strict(),
      response: z.object({ quarantine: quarantineOut }),
      errors: { 404: 'no such quarantine', 409: 'the quarantine is already closed' },
    },
    async ({ params, principal }) => {
      const q = await load(params.id!);
      if (q.status !== 'open') throw new HttpError(409, `quarantine ${q.id} is already ${q.status}; only an open quarantine can be approved or rejected`);
      return { quarantine: await store.quarantines.reject(q.id, principal?.user.username ?? null) };
    },
  );
}
