// The web server: REST API under /api/v1 (documented at /api/v1/openapi.json), the admin UI's
// static files, and (in startServer) the scheduler. `idsync serve` calls startServer.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import { Store } from '../store/index.ts';
import { AuthRepo } from '../store/auth.ts';
import { authenticator } from './auth.ts';
import { LoginLimiter } from './login-limiter.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import { ApiRouter, errorReply } from './routes.ts';
import { useDepthLimitedJson } from './json-body.ts';
import { authRoutes } from './routes-auth.ts';
import { connectorRoutes } from './routes-connectors.ts';
import { runRoutes } from './routes-runs.ts';
import { quarantineRoutes } from './routes-quarantine.ts';
import type { EngineDeps } from '../engine/quarantine.ts';
import { opsRoutes } from './routes-ops.ts';
import { eventRoutes, type EventRouteOptions } from './routes-events.ts';
import { ProgressBus, observeEngine } from './progress-bus.ts';
import { RunEventRelay } from './run-event-relay.ts';
import { ServerMetrics, jobQueueDepth, withRecorder, type QueueDepth } from './metrics.ts';
import { RunCoordinator, type UserSyncQueuePolicy } from './run-coordinator.ts';
import { RunTriggers } from '../jobs/triggers.ts';
import { Scheduler } from './scheduler.ts';
import { JobRunner, openJobQueue, type JobQueue } from '../jobs/index.ts';
import { NO_SECRET_REFS, type SecretRefPolicy } from './secret-ref-policy.ts';
import { DEFAULT_BODY_LIMIT, PUBLIC_BODY_LIMIT, trustsProxy, type TlsFiles, type TrustProxy } from './deployment.ts';
import type { ConnectorContext } from '../sources/registry.ts';
import { defaultServices, type EngineService, type Services } from './services.ts';
import { Notifier, notifyingEngine, type NotificationsConfig } from '../notify/index.ts';
import { notifyRoutes } from './routes-notify.ts';
import { quarantineNotifier } from '../notify/quarantine-hook.ts';
import { scimRoutes } from '../sources/scim/http/routes.ts';
import { scimAdminRoutes } from '../sources/scim/http/admin-routes.ts';
import { PushBatcher } from '../sources/scim/push.ts';

export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export interface ServerOptions {
  store: Store;
  /** How often this instance sweeps for SCIM pushes nobody ran (src/sources/scim/push.ts); 0: never. Default: IDSYNC_SCIM_SWEEP_MS, else 30 s. */
  scimSweepMs?: number;
  /** Engine, mapper and registries; defaults to the real modules. */
  services?: Services;
  /** Passed to the engine's connectors, e.g. the emulators' CA certificate. */
  connectorContext?: ConnectorContext;
  /** Told of every cleanup a run quarantines (issue 10): where notifications (webhook, e-mail) hang. */
  onQuarantine?: EngineDeps['onQuarantine'];
  /** Shortcut to replace only the engine (tests use a fake that implements the contract). */
  engine?: EngineService;
  /** Built admin UI (web/dist); the API works without it. */
  webDir?: string;
  /**
   * Runs schedules (startServer turns this on, and takes jobs after its start-up). Without it
   * the server takes jobs from the queue as soon as it is built: every trigger is a job.
   */
  scheduler?: boolean;
  /** How single-user syncs and approvals wait for a run of their connector (tests shorten it). */
  userSyncQueue?: UserSyncQueuePolicy;
  loginLimiter?: LoginLimiter;
  /** The {env}/{file} secret references the API may set (default: none; see secret-ref-policy.ts). */
  secretRefs?: SecretRefPolicy;
  /**
   * Which proxies in front may say who the client is (X-Forwarded-For) and whether the browser
   * sees https (X-Forwarded-Proto). Default false: the connection's own address and protocol.
   */
  trustProxy?: TrustProxy;
  /** Serve https with this certificate and key. */
  tls?: TlsFiles;
  /** Largest body of an authenticated API call, in bytes (default 2 MB). */
  bodyLimit?: number;
  /** Pino logger options, or false for none (tests). */
  logger?: boolean | Record<string, unknown>;
  /** Bearer token that lets a Prometheus scraper read /metrics (IDSYNC_METRICS_TOKEN). */
  metricsToken?: string;
  /** Where /metrics reads the queue depth (default: the job queue, every instance). */
  queueDepth?: QueueDepth;
  /** Server-sent events tuning (tests shorten the heartbeat). */
  events?: EventRouteOptions;
  /** Where failed runs and quarantines are told (`idsync serve --notifications FILE`); none: nobody is told. */
  notifications?: NotificationsConfig;
  /** Shortcut for tests: the notifier itself (its webhook timings). */
  notifier?: Notifier;
}

export interface IdsyncServer {
  app: FastifyInstance;
  api: ApiRouter;
  auth: AuthRepo;
  /** The triggers: every sync or approval asked for becomes a job, answered from the queue and the runs table. */
  runs: RunTriggers;
  /** The runs this process does (their live progress, their stop). */
  coordinator: RunCoordinator;
  /** Run start / progress / end, as the engine reports them (server-sent events, metrics). */
  bus: ProgressBus;
  metrics: ServerMetrics;
  /** Tells failed runs (wired below) and quarantines (`notifyQuarantine(server.notifier, ...)`). */
  notifier: Notifier;
  scheduler?: Scheduler;
  /** The job queue (pg-boss on PostgreSQL, in process on SQLite) and what does its jobs. */
  jobs: { queue: JobQueue; runner: JobRunner };
  /** Turns what SCIM clients push into push runs (src/sources/scim/push.ts). */
  scimPush: PushBatcher;
  close(): Promise<void>;
}

/** How often a server picks up connectors saved or deleted through another instance. */
const RELOAD_EVERY_MS = 30_000;

export async function buildServer(opts: ServerOptions): Promise<IdsyncServer> {
  // The metrics exist once the coordinator does (queue depth); requests before that are not runs.
  let metrics: ServerMetrics | undefined;
  const connectorContext = withRecorder(opts.connectorContext ?? {}, (r) => metrics?.recorder(r));
  const notifier = opts.notifier ?? new Notifier(opts.notifications, { log: { info: (obj, msg) => app.log.info(obj, msg), warn: (obj, msg) => app.log.warn(obj, msg) } });
  // A quarantined cleanup is told through the same channels as a failed run.
  const onQuarantine = opts.onQuarantine ?? quarantineNotifier(notifier);
  const base = opts.services ?? (await defaultServices(opts.store, connectorContext, { onQuarantine }));
  // Every run goes through this engine, whoever triggers it, so it is where runs are published.
  const bus = new ProgressBus({ error: (obj, msg) => app.log.error(obj, msg) });
  // ...and where a failed run is told, once, after the bus has published its end.
  const services: Services = { ...base, engine: notifyingEngine(observeEngine(opts.engine ?? base.engine, bus), notifier) };
  const app = Fastify({
    // Request logs go to standard error, so standard output carries only what the command says
    // (e.g. `idsync serve --json`'s address line).
    logger: opts.logger === undefined ? { level: 'info', redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], stream: process.stderr } : opts.logger,
    // Small before authentication; authenticated API routes raise it (see ApiRouter).
    bodyLimit: PUBLIC_BODY_LIMIT,
    // Fastify takes a hop count too; its types do not say so.
    trustProxy: (opts.trustProxy ?? false) as boolean,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  await app.register(fastifyCookie);

  const auth = new AuthRepo(opts.store.db);
  // Every run this process does goes through the coordinator; every trigger (API, UI, schedule)
  // is a job on the queue, done by the runner on whichever process takes it.
  const coordinator = new RunCoordinator(services.engine, app.log);
  const queue = await openJobQueue(opts.store, app.log);
  const jobs = { queue, runner: new JobRunner(opts.store, queue, coordinator, app.log) };
  const runs = new RunTriggers(opts.store, queue, coordinator, opts.userSyncQueue);
  const scheduler = opts.scheduler ? new Scheduler(opts.store, auth, queue, app.log) : undefined;
  const reloadSchedules = async () => {
    await scheduler?.reload();
    await jobs.runner.reload();
  };
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const authenticate = authenticator(auth);
  const api = new ApiRouter(app, authenticate, { public: PUBLIC_BODY_LIMIT, authenticated: bodyLimit });
  const serverMetrics = new ServerMetrics({ store: opts.store, bus, queue: opts.queueDepth ?? jobQueueDepth(runs, opts.store) });
  metrics = serverMetrics;
  useDepthLimitedJson(app);

  app.setErrorHandler((e, req, reply) => {
    const { status, body } = (e as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? tooLarge(req.routeOptions.bodyLimit ?? PUBLIC_BODY_LIMIT) : errorReply(e);
    if (status >= 500) req.log.error({ err: e }, 'request failed');
    void reply.code(status).send(body);
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    reply.header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'");
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  // Behind a trusted proxy the address is the client's own, so one address failing across many
  // user names may be slowed down too; without it, it may be the proxy's, shared by everyone.
  authRoutes(api, auth, opts.loginLimiter ?? new LoginLimiter({ perAddress: trustsProxy(opts.trustProxy ?? false) }));
  const secretRefs = opts.secretRefs ?? NO_SECRET_REFS;
  connectorRoutes(api, { store: opts.store, services, runs, secretRefs, ...(scheduler ? { scheduler } : {}), onSchedulesChanged: reloadSchedules });
  runRoutes(api, { store: opts.store, services, secretRefs, onConfigImported: reloadSchedules });
  quarantineRoutes(api, { store: opts.store, services, runs });
  eventRoutes(app, api, bus, opts.events, opts.store);
  notifyRoutes(api, { notifier });
  // Inbound SCIM: its own plugin (SCIM bodies, errors and bearer tokens), outside the UI's session auth.
  const scimPush = new PushBatcher(opts.store, coordinator, app.log, { sweepMs: opts.scimSweepMs ?? sweepFromEnv() });
  scimAdminRoutes(api, opts.store);
  await app.register(scimRoutes, { store: opts.store, onWrite: (id) => scimPush.notify(id) });
  opsRoutes(app, { store: opts.store, metrics: serverMetrics, authenticate, ...(opts.metricsToken ? { metricsToken: opts.metricsToken } : {}) });

  let openapi: Record<string, unknown> | undefined;
  app.get('/api/v1/openapi.json', async () => (openapi ??= api.openapi({ title: 'idsync REST API', version: '1' })));
  app.all('/api/*', async (req, reply) => reply.code(404).send({ error: `no API route ${req.method} ${req.url.split('?')[0]}; see /api/v1/openapi.json` }));

  const webDir = opts.webDir ?? DEFAULT_WEB_DIR;
  if (existsSync(webDir)) {
    await app.register(fastifyStatic, { root: webDir, prefix: '/', index: ['index.html'], wildcard: false, cacheControl: false });
    // The UI routes in the browser: any other page path gets the app shell.
    app.setNotFoundHandler((req, reply) => {
      if (req.method === 'GET' && !req.url.startsWith('/api/')) return reply.type('text/html').sendFile('index.html');
      return reply.code(404).send({ error: 'not found' });
    });
  } else {
    app.get('/', async (_req, reply) =>
      reply.type('text/html').send('<!doctype html><title>idsync</title><p>The admin UI is not built. Run <code>npm run build:web</code>; the REST API is at <a href="/api/v1/openapi.json">/api/v1</a>.</p>'),
    );
  }

  // Connectors saved or deleted through another instance sharing the store.
  const reloading = setInterval(() => void reloadSchedules().catch((e) => app.log.warn({ err: String(e) }, 'reloading schedules failed')), RELOAD_EVERY_MS);
  reloading.unref();
  // Without the start-up of startServer (tests, embedding), jobs are taken from now on.
  if (!opts.scheduler) await jobs.runner.start();
  // Instances sharing PostgreSQL see each other's runs on their event streams; SQLite is one
  // process. Started last, so nothing above can fail and leave its connection open.
  const relay = opts.store.dialect === 'postgres' ? await RunEventRelay.start(opts.store, bus, app.log) : undefined;

  return {
    app,
    api,
    auth,
    runs,
    bus,
    metrics: serverMetrics,
    notifier,
    ...(scheduler ? { scheduler } : {}),
    jobs,
    coordinator,
    scimPush,
    async close() {
      clearInterval(reloading);
      await scimPush.stop();
      jobs.runner.stop();
      scheduler?.stop();
      await runs.stopAll();
      // The ends of the runs just stopped still reach the other instances.
      await relay?.close();
      // Runs stopped by the shutdown may have just been told: give those messages a moment.
      await Promise.race([notifier.drain(), new Promise((r) => setTimeout(r, 5000).unref())]);
      await queue.stop();
      await app.close();
      serverMetrics.close();
    },
  };
}

function tooLarge(limit: number): { status: number; body: Record<string, unknown> } {
  const size = limit >= 1024 * 1024 ? `${+(limit / 1024 / 1024).toFixed(1)} MB` : `${Math.round(limit / 1024)} KB`;
  const next = limit > PUBLIC_BODY_LIMIT ? 'the operator can raise it with idsync serve --body-limit (IDSYNC_BODY_LIMIT)' : 'before log-in only small requests are taken';
  return { status: 413, body: { error: `the request body is larger than the ${size} this route accepts; ${next}` } };
}

/** Creates the first administrator from IDSYNC_ADMIN_PASSWORD when no user exists yet. */
export async function ensureAdminFromEnv(auth: AuthRepo, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const password = env.IDSYNC_ADMIN_PASSWORD;
  if (!password || (await auth.countUsers()) > 0) return undefined;
  const username = env.IDSYNC_ADMIN_USER || 'admin';
  const problem = passwordProblem(password, [username]);
  if (problem) throw new Error(`IDSYNC_ADMIN_PASSWORD is not acceptable: ${problem}`);
  // Another instance starting at the same time may win; then there is an administrator already.
  return (await auth.createFirstAdministrator(username, await hashPassword(password))) ? username : undefined;
}

export interface StartOptions {
  host?: string;
  port?: number;
  dataDir?: string;
  databaseUrl?: string;
  store?: Store;
  services?: Services;
  connectorContext?: ConnectorContext;
  webDir?: string;
  logger?: boolean | Record<string, unknown>;
  secretRefs?: SecretRefPolicy;
  trustProxy?: TrustProxy;
  tls?: TlsFiles;
  bodyLimit?: number;
  /** Default: IDSYNC_METRICS_TOKEN. */
  metricsToken?: string;
  notifications?: NotificationsConfig;
  /** See ServerOptions.scimSweepMs. */
  scimSweepMs?: number;
}

/** IDSYNC_SCIM_SWEEP_MS: milliseconds between sweeps (0 turns them off); unset or not a number: the default. */
function sweepFromEnv(): number | undefined {
  const v = process.env.IDSYNC_SCIM_SWEEP_MS;
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

const deploymentOf = (o: StartOptions): Partial<ServerOptions> =>
  Object.fromEntries(Object.entries({ scimSweepMs: o.scimSweepMs, secretRefs: o.secretRefs, notifications: o.notifications, trustProxy: o.trustProxy, tls: o.tls, bodyLimit: o.bodyLimit, metricsToken: o.metricsToken ?? (process.env.IDSYNC_METRICS_TOKEN || undefined) }).filter(([, v]) => v !== undefined));

export interface RunningServer extends IdsyncServer {
  url: string;
  store: Store;
}

/**
 * Opens the store, builds the server, starts the schedules (catching up a run missed while
 * down) and listens. Binds to 127.0.0.1 unless a host is given.
 */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const ownStore = !opts.store;
  const store = opts.store ?? (await Store.open({ ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}) }));
  let server: IdsyncServer | undefined;
  let address: string;
  try {
    server = await buildServer({ store, scheduler: true, ...(opts.services ? { services: opts.services } : {}), ...(opts.connectorContext ? { connectorContext: opts.connectorContext } : {}), ...(opts.webDir ? { webDir: opts.webDir } : {}), ...(opts.logger !== undefined ? { logger: opts.logger } : {}), ...deploymentOf(opts) });
    const created = await ensureAdminFromEnv(server.auth);
    if (created) server.app.log.info(`created administrator "${created}" from IDSYNC_ADMIN_PASSWORD`);
    // Dead runs that did a job first, so their jobs are handed on (a job left active would hold
    // its connector's queue until pg-boss's long lease ran out); then any other dead run.
    await server.jobs?.runner.reap();
    const interrupted = await store.runs.failInterrupted('idsync stopped while this run was in progress');
    if (interrupted) server.app.log.warn(`${interrupted} run(s) were interrupted by a stop and are marked failed`);
    address = await server.app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
    await server.jobs?.runner.start();
    await server.scimPush.start();
    await server.scheduler?.start();
  } catch (e) {
    // What was opened is let go (pg-boss's timers, the pool, the schedules), so a server that
    // cannot start fails: `idsync serve` exits with the error instead of lingering, not listening.
    await server?.close().catch(() => undefined);
    if (ownStore) await store.close().catch(() => undefined);
    throw e;
  }
  return {
    ...server,
    url: address.replace('://[::1]', '://localhost'),
    store,
    async close() {
      // The store is let go even if a part of the server failed to stop: its pool would outlive the process's work.
      try {
        await server.close();
      } finally {
        if (ownStore) await store.close();
      }
    },
  };
}
