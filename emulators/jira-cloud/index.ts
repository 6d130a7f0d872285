// Jira Cloud REST v3 emulator: the slice idsync uses (accounts, account search, user
// properties, groups by id, group membership) with Cloud's behaviour where it matters: no
// usernames, emails hidden by profile visibility, PageBean paging, the `errorMessages`
// envelope, 201 vs 200 on property create/update, and burst rate limiting with Jira's headers.
import { Router, startEmulator, type EmulatorRequest, type EmulatorResponse, type RunningEmulator } from '../common/server.ts';
import { ADMIN_ACCOUNT_ID, JiraCloudStore, defaultJiraCloudSeed, type CloudAccount, type CloudGroup, type JiraCloudSeed, type SeedAccount } from './store.ts';

export { JiraCloudStore, ADMIN_ACCOUNT_ID, defaultJiraCloudSeed } from './store.ts';
export type { JiraCloudSeed, SeedAccount, CloudAccount } from './store.ts';

/** Jira's entity-property limits (key length, serialized value length). */
export const PROPERTY_KEY_MAX = 255;
export const PROPERTY_VALUE_MAX = 32_768;

export interface JiraCloudEmulatorOptions {
  tls?: boolean;
  port?: number;
  seed?: JiraCloudSeed;
  /** Credentials of the API caller (an org/site admin). */
  email?: string;
  apiToken?: string;
}

export interface JiraCloudEmulator extends RunningEmulator {
  store: JiraCloudStore;
  credentials: { email: string; apiToken: string };
  /** Whether the caller has Administer Jira / site admin (property writes on others, groups). */
  setAdmin(admin: boolean): void;
}

const API = '/rest/api/3';
const err = (status: number, ...messages: string[]): EmulatorResponse => ({
  status,
  body: { errorMessages: messages, errors: {} },
});

export async function startJiraCloudEmulator(opts: JiraCloudEmulatorOptions = {}): Promise<JiraCloudEmulator> {
  const credentials = { email: opts.email ?? 'admin@example.com', apiToken: opts.apiToken ?? 'cloud-api-token' };
  const seed = opts.seed ?? defaultJiraCloudSeed();
  let store = new JiraCloudStore(seed);
  let admin = true;
  let emu: RunningEmulator | undefined;

  const authorized = (req: EmulatorRequest): boolean => {
    const h = String(req.headers.authorization ?? '');
    if (!h.startsWith('Basic ')) return false;
    return Buffer.from(h.slice(6), 'base64').toString('utf8') === `${credentials.email}:${credentials.apiToken}`;
  };
  /** Wraps a handler with Basic auth, as every route here needs it. */
  const authed =
    (h: (req: EmulatorRequest) => EmulatorResponse) =>
    (req: EmulatorRequest): EmulatorResponse =>
      authorized(req) ? h(req) : err(401, 'Client must be authenticated to access this resource.');
  const needAdmin = (): EmulatorResponse | undefined =>
    admin ? undefined : err(403, 'You do not have permission to perform this operation. Site administration is required.');

  const self = (req: EmulatorRequest, path: string) => `${req.origin}${API}${path}`;
  const userJson = (req: EmulatorRequest, a: CloudAccount, expand: string[] = []) => {
    const groups = store.groupsOf(a.accountId);
    return {
      self: self(req, `/user?accountId=${encodeURIComponent(a.accountId)}`),
      accountId: a.accountId,
      accountType: a.accountType,
      ...(a.emailVisible && a.emailAddress ? { emailAddress: a.emailAddress } : {}),
      avatarUrls: { '48x48': `${req.origin}/avatar/${a.accountId}` },
      displayName: a.displayName,
      active: a.active,
      timeZone: a.timeZone,
      locale: a.locale,
      ...(expand.includes('groups')
        ? { groups: { size: groups.length, items: groups.map((g) => groupRef(req, g)) } }
        : { groups: { size: groups.length, items: [] } }),
      applicationRoles: { size: 1, items: [] },
      expand: 'groups,applicationRoles',
    };
  };
  const groupRef = (req: EmulatorRequest, g: CloudGroup) => ({ name: g.name, groupId: g.groupId, self: self(req, `/group?groupId=${g.groupId}`) });
  const page = (req: EmulatorRequest, defMax: number, hardMax: number) => {
    const startAt = Math.max(0, Number(req.query.get('startAt') ?? 0) || 0);
    const maxResults = Math.min(hardMax, Math.max(1, Number(req.query.get('maxResults') ?? defMax) || defMax));
    return { startAt, maxResults };
  };
  const accountParam = (req: EmulatorRequest): CloudAccount | EmulatorResponse => {
    const id = req.query.get('accountId');
    if (!id) return err(400, 'The query parameter accountId is required.');
    const a = store.accounts.get(id);
    return a ?? err(404, `Specified user does not exist or you do not have required permissions`);
  };
  const groupParam = (req: EmulatorRequest): CloudGroup | EmulatorResponse => {
    const id = req.query.get('groupId');
    const name = req.query.get('groupname') ?? req.query.get('groupName');
    if (id && name) return err(400, 'You must provide either groupId or groupname, not both.');
    const g = id ? store.groupById(id) : name ? store.groupByName(name) : undefined;
    if (!id && !name) return err(400, 'You must provide either groupId or groupname.');
    return g ?? err(404, 'Specified group does not exist.');
  };
  const isResponse = (x: unknown): x is EmulatorResponse => typeof x === 'object' && x !== null && 'status' in x && typeof (x as { status: unknown }).status === 'number';

  const router = new Router()
    .on('GET', `${API}/myself`, authed((req) => ({ status: 200, body: userJson(req, store.accounts.get(ADMIN_ACCOUNT_ID)!, ['groups']) })))
    .on('GET', `${API}/serverInfo`, authed((req) => ({
      status: 200,
      body: { baseUrl: req.origin, version: '1001.0.0-SNAPSHOT', versionNumbers: [1001, 0, 0], deploymentType: 'Cloud', buildNumber: 100288, serverTitle: 'Jira' },
    })))
    .on('GET', `${API}/user`, authed((req) => {
      const a = accountParam(req);
      if (isResponse(a)) return a;
      const expand = (req.query.get('expand') ?? '').split(',').map((s) => s.trim());
      return { status: 200, body: userJson(req, a, expand) };
    }))
    .on('GET', `${API}/user/search`, authed((req) => {
      const { startAt, maxResults } = page(req, 50, 1000);
      const accountId = req.query.get('accountId');
      const query = req.query.get('query');
      if (!accountId && !query) return err(400, 'One of the query parameters query or accountId is required.');
      const found = accountId ? [store.accounts.get(accountId)].filter((a): a is CloudAccount => !!a) : store.search(query!);
      return { status: 200, body: found.slice(startAt, startAt + maxResults).map((a) => userJson(req, a)) };
    }))
    .on('GET', `${API}/users/search`, authed((req) => {
      // Lists every account: active, inactive, apps; paging is by offset only (no total).
      const { startAt, maxResults } = page(req, 50, 1000);
      const all = [...store.accounts.values()];
      return { status: 200, body: all.slice(startAt, startAt + maxResults).map((a) => userJson(req, a)) };
    }))
    .on('GET', `${API}/user/properties`, authed((req) => {
      const id = req.query.get('accountId') ?? ADMIN_ACCOUNT_ID;
      if (!store.accounts.has(id)) return err(404, 'Specified user does not exist or you do not have required permissions');
      return {
        status: 200,
        body: { keys: store.propertyKeys(id).map((key) => ({ self: self(req, `/user/properties/${encodeURIComponent(key)}?accountId=${id}`), key })) },
      };
    }))
    .on('GET', `${API}/user/properties/:key`, authed((req) => {
      const id = req.query.get('accountId') ?? ADMIN_ACCOUNT_ID;
      if (!store.accounts.has(id)) return err(404, 'Specified user does not exist or you do not have required permissions');
      const json = store.getProperty(id, req.params.key!);
      if (json === undefined) return err(404, `The property with key '${req.params.key}' does not exist.`);
      return { status: 200, body: { key: req.params.key, value: JSON.parse(json) } };
    }))
    .on('PUT', `${API}/user/properties/:key`, authed((req) => {
      const id = req.query.get('accountId') ?? ADMIN_ACCOUNT_ID;
      if (id !== ADMIN_ACCOUNT_ID) {
        const denied = needAdmin();
        if (denied) return denied;
      }
      if (!store.accounts.has(id)) return err(404, 'Specified user does not exist or you do not have required permissions');
      const key = req.params.key!;
      if (key.length > PROPERTY_KEY_MAX) return err(400, `The property key cannot be longer than ${PROPERTY_KEY_MAX} characters.`);
      const text = req.rawBody.trim();
      if (!text) return err(400, 'The property value cannot be empty.');
      try {
        JSON.parse(text);
      } catch {
        return err(400, 'The property value must be valid JSON.');
      }
      // The documented limit is 32,768 bytes (developer.atlassian.com, Jira Cloud REST v3, user properties), as in DC.
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > PROPERTY_VALUE_MAX) return err(400, `The property value cannot be longer than ${PROPERTY_VALUE_MAX} bytes.`);
      const outcome = store.setProperty(id, key, text);
      return { status: outcome === 'created' ? 201 : 200 };
    }))
    .on('DELETE', `${API}/user/properties/:key`, authed((req) => {
      const id = req.query.get('accountId') ?? ADMIN_ACCOUNT_ID;
      if (id !== ADMIN_ACCOUNT_ID) {
        const denied = needAdmin();
        if (denied) return denied;
      }
      if (!store.accounts.has(id)) return err(404, 'Specified user does not exist or you do not have required permissions');
      if (!store.deleteProperty(id, req.params.key!)) return err(404, `The property with key '${req.params.key}' does not exist.`);
      return { status: 204 };
    }))
    .on('GET', `${API}/group/bulk`, authed((req) => {
      const { startAt, maxResults } = page(req, 50, 50);
      const ids = req.query.getAll('groupId');
      const names = req.query.getAll('groupName').map((n) => n.toLowerCase());
      const matches = store
        .allGroups()
        .filter((g) => (ids.length === 0 && names.length === 0) || ids.includes(g.groupId) || names.includes(g.name.toLowerCase()));
      const values = matches.slice(startAt, startAt + maxResults).map((g) => ({ name: g.name, groupId: g.groupId }));
      return {
        status: 200,
        body: { self: `${req.origin}${req.rawUrl}`, maxResults, startAt, total: matches.length, isLast: startAt + maxResults >= matches.length, values },
      };
    }))
    .on('POST', `${API}/group`, authed((req) => {
      const denied = needAdmin();
      if (denied) return denied;
      const name = (req.body as { name?: unknown } | undefined)?.name;
      if (typeof name !== 'string' || !name.trim()) return { status: 400, body: { errorMessages: [], errors: { name: 'You must specify a group name.' } } };
      if (store.groupByName(name)) return err(400, `A group with name '${name}' already exists.`);
      const g = store.createGroup(name);
      return { status: 201, body: { ...groupRef(req, g), users: { size: 0, items: [] }, expand: 'users' } };
    }))
    .on('DELETE', `${API}/group`, authed((req) => {
      const denied = needAdmin();
      if (denied) return denied;
      const g = groupParam(req);
      if (isResponse(g)) return g;
      store.deleteGroup(g.groupId);
      return { status: 200 };
    }))
    .on('POST', `${API}/group/user`, authed((req) => {
      const denied = needAdmin();
      if (denied) return denied;
      const g = groupParam(req);
      if (isResponse(g)) return g;
      const accountId = (req.body as { accountId?: unknown } | undefined)?.accountId;
      // Documented (Jira Cloud OpenAPI, addUserToGroup): 400 when accountId is missing, 404 when
      // the group or user is not found.
      if (typeof accountId !== 'string' || !accountId) {
        return { status: 400, body: { errorMessages: [], errors: { accountId: 'You must specify an account id.' } } };
      }
      if (!store.accounts.has(accountId)) return err(404, `The user with account id ${accountId} does not exist.`);
      if (g.members.has(accountId)) return err(400, `Cannot add user. User is already a member of '${g.name}'`);
      g.members.add(accountId);
      return { status: 201, body: { ...groupRef(req, g), users: { size: g.members.size, items: [] }, expand: 'users' } };
    }))
    .on('DELETE', `${API}/group/user`, authed((req) => {
      const denied = needAdmin();
      if (denied) return denied;
      const g = groupParam(req);
      if (isResponse(g)) return g;
      const a = accountParam(req);
      if (isResponse(a)) return a;
      if (!g.members.delete(a.accountId)) return err(400, `Cannot remove user. User is not a member of '${g.name}'`);
      return { status: 200 };
    }))
    .on('GET', `${API}/group/member`, authed((req) => {
      const g = groupParam(req);
      if (isResponse(g)) return g;
      const { startAt, maxResults } = page(req, 50, 50);
      const includeInactive = req.query.get('includeInactiveUsers') === 'true';
      const members = [...g.members]
        .map((id) => store.accounts.get(id)!)
        .filter((a) => includeInactive || a.active)
        .sort((a, b) => a.displayName.localeCompare(b.displayName));
      const isLast = startAt + maxResults >= members.length;
      const next = new URL(`${req.origin}${req.rawUrl}`);
      next.searchParams.set('startAt', String(startAt + maxResults));
      return {
        status: 200,
        body: {
          self: `${req.origin}${req.rawUrl}`,
          ...(isLast ? {} : { nextPage: next.toString() }),
          maxResults,
          startAt,
          total: members.length,
          isLast,
          values: members.slice(startAt, startAt + maxResults).map((a) => {
            const { groups: _g, applicationRoles: _r, expand: _e, ...summary } = userJson(req, a);
            return summary;
          }),
        },
      };
    }));

  const control = new Router()
    .on('GET', '/accounts', () => ({ status: 200, body: [...store.accounts.values()] }))
    .on('POST', '/accounts', (req) => ({ status: 201, body: store.addAccount(req.body as SeedAccount) }))
    .on('GET', '/accounts/:id/groups', (req) => ({ status: 200, body: store.groupsOf(req.params.id!).map((g) => g.name) }))
    .on('GET', '/accounts/:id/properties', (req) => ({
      status: 200,
      body: Object.fromEntries(store.propertyKeys(req.params.id!).map((k) => [k, JSON.parse(store.getProperty(req.params.id!, k)!)])),
    }))
    .on('POST', '/admin', (req) => {
      admin = (req.body as { admin?: boolean } | undefined)?.admin !== false;
      return { status: 200, body: { admin } };
    });

  emu = await startEmulator({
    name: 'jira-cloud',
    router,
    control,
    tls: opts.tls,
    port: opts.port,
    errorBody: (_status, message) => ({ errorMessages: [message], errors: {} }),
    rateLimitHeaders: (retryAfter) => ({
      'x-ratelimit-limit': String(emu?.faults.rateLimit?.capacity ?? 0),
      'x-ratelimit-remaining': '0',
      // Jira sends the reset time as ISO-8601 to the minute (yyyy-MM-ddTHH:mmZ).
      'x-ratelimit-reset': new Date(Date.now() + retryAfter * 1000).toISOString().slice(0, 16) + 'Z',
      'ratelimit-reason': 'jira-burst-based',
    }),
    onReset: () => {
      store = new JiraCloudStore(seed);
      admin = true;
      result.store = store;
    },
  });
  const result: JiraCloudEmulator = Object.assign(emu, {
    store,
    credentials,
    setAdmin(value: boolean) {
      admin = value;
    },
  });
  return result;
}
