// Operations endpoints, outside /api/v1 because load balancers, orchestrators and Prometheus call
// them, not people:
// - GET /healthz: the process answers (cheap, no store, no auth): a liveness probe.
// - GET /readyz: the store answers and has every migration this idsync knows; 503 with the
//   reason otherwise (and while shutting down), without secrets: a readiness probe.
// - GET /metrics: Prometheus text format. Scrapers rarely hold a session, so besides a viewer's
//   session or API token it takes the operator's IDSYNC_METRICS_TOKEN as a bearer token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Store } from '../store/index.ts';
import type { ServerMetrics } from './metrics.ts';
import type { Authenticator } from './routes.ts';

/** Longest the store may take to answer the readiness query. */
export const READY_TIMEOUT_MS = 3000;

export interface OpsDeps {
  store: Store;
  metrics: ServerMetrics;
  authenticate: Authenticator;
  /** Bearer token a Prometheus scraper may send to read /metrics (IDSYNC_METRICS_TOKEN). */
  metricsToken?: string;
}

export function opsRoutes(app: FastifyInstance, deps: OpsDeps): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.get('/healthz', async (_req, reply) => reply.type('application/json').send({ status: 'ok' }));

  app.get('/readyz', async (req, reply) => {
    const problem = closing ? 'idsync is shutting down' : await storeProblem(deps.store, (err) => req.log.warn({ err }, 'readiness check failed'));
    if (problem) return reply.code(503).send({ status: 'not ready', reason: problem });
    return reply.send({ status: 'ready', checks: { store: 'ok', migrations: 'ok' } });
  });

  const token = deps.metricsToken ? digest(deps.metricsToken) : undefined;
  app.get('/metrics', async (req, reply) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const byToken = token !== undefined && bearer !== undefined && timingSafeEqual(digest(bearer), token);
    if (!byToken) {
      // Not the scraper's token: a logged-in viewer or one of their API tokens may read it too.
      const who = await deps.authenticate(req);
      if (!who.principal) {
        reply.header('www-authenticate', 'Bearer realm="idsync metrics"');
        return reply.code(401).send({ error: deps.metricsToken ? 'send the metrics token (IDSYNC_METRICS_TOKEN) or an API token as Authorization: Bearer ...' : 'send an API token as Authorization: Bearer ..., or set IDSYNC_METRICS_TOKEN for the scraper' });
      }
    }
    const { contentType, body } = await deps.metrics.text();
    return reply.type(contentType).send(body);
  });
}

/** Compared as digests, so neither the value nor its length shows in the comparison time. */
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Why the store is not ready, or undefined. The full error goes to the log, not to the caller. */
async function storeProblem(store: Store, log: (err: unknown) => void): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS);
  });
  try {
    const answer = await Promise.race([sql`select 1`.execute(store.db).then(() => 'ok' as const), timeout]);
    if (answer === 'timeout') return `the ${store.dialect === 'postgres' ? 'PostgreSQL database' : 'SQLite store'} did not answer within ${READY_TIMEOUT_MS / 1000} s`;
    const pending = await store.pendingMigrations();
    if (pending.length) return `the store lacks ${pending.length} migration(s) of this idsync (${pending.join(', ')}); restart idsync to apply them`;
    return undefined;
  } catch (e) {
    log(e);
    const code = (e as { code?: unknown }).code;
    return `the ${store.dialect === 'postgres' ? 'PostgreSQL database' : 'SQLite store'} cannot be reached${typeof code === 'string' && /^[A-Z0-9_]{2,20}$/.test(code) ? ` (${code})` : ''}; see the server log`;
  } finally {
    clearTimeout(timer);
  }
}
