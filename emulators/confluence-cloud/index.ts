// Confluence Cloud emulator: accounts, CQL user search, user properties and groups by id under
// /wiki/rest/api, Basic auth with email and API token, Cloud error bodies and rate-limit
// headers, and a control API (/_emulator/...) to seed and inspect from another process.
import { Router, startEmulator, type RunningEmulator } from '../common/server.ts';
import { cloudErrorBody, cloudRateLimitHeaders, registerCloudRoutes } from './routes.ts';
import { ConfluenceCloudStore, type SeedAccount } from './store.ts';

export { ConfluenceCloudStore, type SeedAccount, type CloudAccount } from './store.ts';
export { PROPERTY_KEY_MAX, PROPERTY_VALUE_MAX } from './routes.ts';

export interface ConfluenceCloudEmulatorOptions {
  /** Cloud is https only; on by default so clients that insist on TLS work unchanged. */
  tls?: boolean;
  port?: number;
  seed?: { accounts?: SeedAccount[]; groups?: string[] };
}

export interface ConfluenceCloudEmulator extends RunningEmulator {
  store: ConfluenceCloudStore;
  /** The site administrator whose API token the tests use. */
  admin: { email: string; apiToken: string; accountId: string };
}

export const CLOUD_ADMIN = { email: 'site-admin@example.com', apiToken: 'ATATT3xEmulatorAdminToken0000', accountId: '712020:00000000-0000-4000-8000-000000000001' };

function seedStore(store: ConfluenceCloudStore, seed: ConfluenceCloudEmulatorOptions['seed']): void {
  store.createGroup('confluence-users');
  store.createGroup('site-admins');
  store.createAccount({
    accountId: CLOUD_ADMIN.accountId,
    displayName: 'Site Admin',
    email: CLOUD_ADMIN.email,
    apiTokens: [CLOUD_ADMIN.apiToken],
    siteAdmin: true,
    groups: ['site-admins', 'confluence-users'],
  });
  for (const g of seed?.groups ?? []) store.createGroup(g);
  for (const a of seed?.accounts ?? []) store.createAccount(a);
}

export async function startConfluenceCloudEmulator(opts: ConfluenceCloudEmulatorOptions = {}): Promise<ConfluenceCloudEmulator> {
  const store = new ConfluenceCloudStore();
  seedStore(store, opts.seed);
  const router = new Router();
  registerCloudRoutes(router, store);

  const control = new Router()
    .on('POST', '/accounts', (req) => {
      const list = (Array.isArray(req.body) ? req.body : [req.body]) as SeedAccount[];
      return { status: 201, body: list.map((a) => ({ accountId: store.createAccount(a).accountId })) };
    })
    .on('POST', '/groups', (req) => {
      const names = (req.body as { names?: string[] })?.names ?? [];
      return { status: 201, body: names.map((n) => store.createGroup(n)) };
    })
    .on('GET', '/accounts/:accountId', (req) => {
      const a = store.get(req.params.accountId!);
      if (!a) return { status: 404, body: { error: 'no such account' } };
      const properties = Object.fromEntries(store.propertyKeys(a.accountId).map((k) => [k, JSON.parse(store.getProperty(a.accountId, k)!.json)]));
      const { apiTokens: _t, ...visible } = a;
      return { status: 200, body: { ...visible, groups: store.groupsOf(a.accountId).map((g) => g.name), properties } };
    });

  const emu = await startEmulator({
    name: 'confluence-cloud',
    router,
    control,
    tls: opts.tls ?? true,
    port: opts.port,
    errorBody: cloudErrorBody,
    rateLimitHeaders: cloudRateLimitHeaders,
    onReset: () => {
      store.clear();
      seedStore(store, opts.seed);
    },
  });
  return Object.assign(emu, { store, admin: { ...CLOUD_ADMIN } });
}
