// A small API client over Fastify's inject (no sockets): keeps cookies like a browser, sends the
// CSRF header when asked, and records every answer so a test can check that no secret leaked.
import type { FastifyInstance } from 'fastify';
import { buildServer, type IdsyncServer, type ServerOptions } from '../../src/server/index.ts';
import type { RegistryService } from '../../src/server/services.ts';
import { Store } from '../../src/store/index.ts';
import { LoginLimiter } from '../../src/server/login-limiter.ts';
import { FakeEngine, fakeServices } from './fakes.ts';
import { openPostgresStore } from '../helpers/stores.ts';

export interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Record<string, unknown>;
}

export const transcript: string[] = [];

export class Client {
  cookies = new Map<string, string>();
  bearer?: string;
  /** Send X-CSRF-Token from the csrf cookie (what the UI does). */
  csrf = true;

  constructor(private readonly app: FastifyInstance) {}

  async call(method: string, url: string, payload?: unknown): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.csrf && this.cookies.has('idsync_csrf')) headers['x-csrf-token'] = this.cookies.get('idsync_csrf')!;
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    const res = await this.app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
    for (const c of res.cookies) {
      if (c.value === '' || (c.expires && c.expires.getTime() < Date.now())) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    transcript.push(`${method} ${url} ${res.statusCode} ${JSON.stringify(res.headers)} ${res.body}`);
    let body: unknown;
    try {
      body = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, body, text: res.body, headers: res.headers as Record<string, unknown> };
  }

  get = (url: string) => this.call('GET', url);
  post = (url: string, body: unknown = {}) => this.call('POST', url, body);
  put = (url: string, body: unknown = {}) => this.call('PUT', url, body);
  patch = (url: string, body: unknown = {}) => this.call('PATCH', url, body);
  del = (url: string) => this.call('DELETE', url);
}

export interface Harness {
  server: IdsyncServer;
  store: Store;
  engine: FakeEngine;
  admin: Client;
  anonymous: Client;
  client(): Client;
  dispose(): Promise<void>;
}

export const ADMIN_PASSWORD = 'correct horse battery';

/** The stores every API suite runs against: SQLite (the default) and a PostgreSQL schema of its own. */
export const STORE_KINDS = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/**
 * A server on a fresh store with fake engine and registries, and a logged-in admin. `registry`
 * replaces the fake registry (e.g. registryOf() with real definitions, whose forms are tested).
 */
export async function harness(opts: { scheduler?: boolean; store?: StoreKind; server?: Partial<ServerOptions>; registry?: RegistryService } = {}): Promise<Harness> {
  const opened = opts.store === 'postgres' ? await openPostgresStore() : undefined;
  const store = opened?.store ?? (await Store.open({ databaseUrl: ':memory:' }));
  const engine = new FakeEngine(store);
  const services = fakeServices(engine);
  if (opts.registry) services.registry = opts.registry;
  const server = await buildServer({ store, services, logger: false, scheduler: opts.scheduler ?? false, loginLimiter: new LoginLimiter({ maxFailures: 3 }), ...opts.server });
  const admin = new Client(server.app);
  const setup = await admin.post('/api/v1/auth/setup', { username: 'admin', password: ADMIN_PASSWORD });
  if (setup.status !== 200) throw new Error(`setup failed: ${setup.text}`);
  return {
    server,
    store,
    engine,
    admin,
    anonymous: new Client(server.app),
    client: () => new Client(server.app),
    async dispose() {
      // The store (and a PostgreSQL store's schemas) goes even when closing the server throws.
      try {
        engine.release();
        await server.close();
      } finally {
        if (opened) await opened.dispose();
        else await store.close();
      }
    },
  };
}

/** Fills `:param` placeholders of a route path with harmless values. */
export function concretePath(path: string): string {
  return path.replace(/:id/g, 'contoso');
}
