// Atlassian Crowd usermanagement REST emulator (`/rest/usermanagement/1`, also `latest`). The
// client is an application: Basic auth with the application's name and password. Modelled:
// users by username or immutable key (2.7+), create (201 + Location, password required), the
// full-replacement PUT (omitted fields are overwritten: strings cleared, `active` false),
// rename, multi-valued attributes, groups and direct memberships, search (CQL by GET, a
// search-restriction body by POST), Crowd's error
// body `{"reason","message"}`, and XML unless the client asks for JSON with `Accept`.
import { Router, startEmulator, type EmulatorRequest, type EmulatorResponse, type RunningEmulator } from '../common/server.ts';
import { compileCql, compileRestriction, CqlError } from './cql.ts';
import { CrowdStore, defaultCrowdSeed, type CrowdGroup, type CrowdSeed, type CrowdUser } from './store.ts';

export { CrowdStore, defaultCrowdSeed, DIRECTORY_ID } from './store.ts';
export type { CrowdSeed, CrowdUser, SeedCrowdUser } from './store.ts';

export interface CrowdEmulatorOptions {
  tls?: boolean;
  port?: number;
  seed?: CrowdSeed;
  applicationName?: string;
  applicationPassword?: string;
  /**
   * Operations the application may not perform in the directory (Crowd's per-application
   * directory permissions). A denied one answers 403 APPLICATION_PERMISSION_DENIED.
   */
  deniedOperations?: Array<'DELETE_USER'>;
}

export interface CrowdEmulator extends RunningEmulator {
  store: CrowdStore;
  application: { name: string; password: string };
}

type Reason =
  | 'USER_NOT_FOUND'
  | 'GROUP_NOT_FOUND'
  | 'MEMBERSHIP_NOT_FOUND'
  | 'MEMBERSHIP_ALREADY_EXISTS'
  | 'INVALID_USER'
  | 'INVALID_GROUP'
  | 'INVALID_CREDENTIAL'
  | 'ILLEGAL_ARGUMENT'
  | 'APPLICATION_ACCESS_DENIED'
  | 'APPLICATION_PERMISSION_DENIED'
  | 'OPERATION_FAILED';

const fail = (status: number, reason: Reason, message: string): EmulatorResponse => ({ status, body: { reason, message } });

export async function startCrowdEmulator(opts: CrowdEmulatorOptions = {}): Promise<CrowdEmulator> {
  const application = { name: opts.applicationName ?? 'idsync', password: opts.applicationPassword ?? 'app-secret' };
  const seed = opts.seed ?? defaultCrowdSeed();
  let store = new CrowdStore(seed);

  const base = (req: EmulatorRequest) => `${req.origin}/rest/usermanagement/1`;
  const userJson = (req: EmulatorRequest, u: CrowdUser, expandAttributes: boolean) => ({
    expand: 'attributes',
    link: { href: `${base(req)}/user?username=${encodeURIComponent(u.name)}`, rel: 'self' },
    name: u.name,
    key: u.key,
    'first-name': u.firstName,
    'last-name': u.lastName,
    'display-name': u.displayName,
    email: u.email,
    password: { link: { href: `${base(req)}/user/password?username=${encodeURIComponent(u.name)}`, rel: 'edit' } },
    active: u.active,
    'created-date': Date.parse(u.created),
    'updated-date': Date.parse(u.updated),
    ...(expandAttributes ? { attributes: attributesJson(req, u) } : {}),
  });
  const attributesJson = (req: EmulatorRequest, u: CrowdUser) => ({
    attributes: [...u.attributes].sort(([a], [b]) => a.localeCompare(b)).map(([name, values]) => ({
      link: { href: `${base(req)}/user/attribute?username=${encodeURIComponent(u.name)}&attributename=${encodeURIComponent(name)}`, rel: 'self' },
      name,
      values,
    })),
    link: { href: `${base(req)}/user/attribute?username=${encodeURIComponent(u.name)}`, rel: 'self' },
  });
  const groupJson = (req: EmulatorRequest, g: CrowdGroup) => ({
    link: { href: `${base(req)}/group?groupname=${encodeURIComponent(g.name)}`, rel: 'self' },
    name: g.name,
    description: g.description,
    type: 'GROUP',
    active: g.active,
  });
  const paging = (req: EmulatorRequest) => ({
    start: Math.max(0, Number(req.query.get('start-index') ?? 0) || 0),
    max: Math.min(1000, Math.max(1, Number(req.query.get('max-results') ?? 1000) || 1000)),
  });
  const userParam = (req: EmulatorRequest): CrowdUser | EmulatorResponse => {
    const name = req.query.get('username');
    const key = req.query.get('key');
    const u = name !== null ? store.user(name) : key !== null ? store.users.get(key) : undefined;
    if (name === null && key === null) return fail(400, 'ILLEGAL_ARGUMENT', 'username or key is required');
    return u ?? fail(404, 'USER_NOT_FOUND', `User <${name ?? key}> does not exist`);
  };
  const isResponse = (x: CrowdUser | EmulatorResponse): x is EmulatorResponse => 'status' in x;
  const body = (req: EmulatorRequest) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});
  const str = (v: unknown) => (typeof v === 'string' ? v : '');

  const routes = new Router();
  const on = (method: string, path: string, h: (req: EmulatorRequest) => EmulatorResponse) => {
    for (const version of ['1', 'latest']) routes.on(method, `/rest/usermanagement/${version}${path}`, h);
  };

  on('GET', '/user', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    return { status: 200, body: userJson(req, u, (req.query.get('expand') ?? '').includes('attributes')) };
  });
  on('POST', '/user', (req) => {
    const b = body(req);
    const name = str(b.name).trim();
    if (!name) return fail(400, 'INVALID_USER', 'The user name must not be empty');
    if (store.user(name)) return fail(400, 'INVALID_USER', `User <${name}> already exists`);
    const password = (b.password as { value?: unknown } | undefined)?.value;
    if (typeof password !== 'string' || !password) return fail(400, 'INVALID_CREDENTIAL', 'A password is required to create a user');
    const u = store.addUser({
      name,
      firstName: str(b['first-name']),
      lastName: str(b['last-name']),
      displayName: str(b['display-name']) || `${str(b['first-name'])} ${str(b['last-name'])}`.trim(),
      email: str(b.email),
      active: b.active === true,
      password,
    });
    return { status: 201, headers: { location: `${base(req)}/user?username=${encodeURIComponent(u.name)}` } };
  });
  on('PUT', '/user', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    const b = body(req);
    if (str(b.name).toLowerCase() !== u.name.toLowerCase()) return fail(400, 'INVALID_USER', 'The user name in the body must match the username parameter; use /user/rename to rename');
    // Crowd replaces the whole user: whatever the body omits is overwritten.
    u.firstName = str(b['first-name']);
    u.lastName = str(b['last-name']);
    u.displayName = str(b['display-name']);
    u.email = str(b.email);
    u.active = b.active === true;
    u.updated = new Date().toISOString();
    return { status: 204 };
  });
  on('DELETE', '/user', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    if (opts.deniedOperations?.includes('DELETE_USER')) {
      // Wording approx.; the reason code and status are Crowd's (see docs/protocol-facts.md).
      return fail(403, 'APPLICATION_PERMISSION_DENIED', `Application '${application.name}' is not permitted to delete users in directory 'Internal directory'`);
    }
    store.removeUser(u);
    return { status: 204 };
  });
  on('POST', '/user/rename', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    const newName = str(body(req)['new-name']).trim();
    if (!newName) return fail(400, 'INVALID_USER', 'new-name is required');
    const clash = store.user(newName);
    if (clash && clash !== u) return fail(400, 'INVALID_USER', `User <${newName}> already exists`);
    store.rename(u, newName);
    return { status: 200, body: userJson(req, u, false) };
  });
  on('GET', '/user/attribute', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    return { status: 200, body: attributesJson(req, u) };
  });
  on('POST', '/user/attribute', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    const attrs = body(req).attributes;
    if (!Array.isArray(attrs)) return fail(400, 'ILLEGAL_ARGUMENT', 'attributes must be a list');
    for (const a of attrs as Array<{ name?: unknown; values?: unknown }>) {
      if (typeof a.name !== 'string' || !Array.isArray(a.values) || a.values.some((v) => typeof v !== 'string' || v.length > 255)) {
        return fail(400, 'ILLEGAL_ARGUMENT', 'each attribute needs a name and string values of at most 255 characters');
      }
    }
    for (const a of attrs as Array<{ name: string; values: string[] }>) u.attributes.set(a.name, [...a.values]);
    return { status: 204 };
  });
  on('DELETE', '/user/attribute', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    const name = req.query.get('attributename');
    if (!name) return fail(400, 'ILLEGAL_ARGUMENT', 'attributename is required');
    u.attributes.delete(name);
    return { status: 204 };
  });
  on('GET', '/user/group/direct', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    const groupname = req.query.get('groupname');
    if (groupname !== null) {
      const g = store.group(groupname);
      return g && g.members.has(u.key) ? { status: 200, body: groupJson(req, g) } : fail(404, 'MEMBERSHIP_NOT_FOUND', `${u.name} is not a direct member of ${groupname}`);
    }
    const { start, max } = paging(req);
    return { status: 200, body: { expand: 'group', groups: store.groupsOf(u).slice(start, start + max).map((g) => ({ link: groupJson(req, g).link, name: g.name })) } };
  });
  on('POST', '/user/group/direct', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    const name = str(body(req).name);
    const g = store.group(name);
    if (!g) return fail(400, 'GROUP_NOT_FOUND', `Group <${name}> does not exist`);
    if (g.members.has(u.key)) return fail(409, 'MEMBERSHIP_ALREADY_EXISTS', `${u.name} is already a direct member of ${g.name}`);
    g.members.add(u.key);
    return { status: 201, headers: { location: `${base(req)}/user/group/direct?username=${encodeURIComponent(u.name)}&groupname=${encodeURIComponent(g.name)}` } };
  });
  on('DELETE', '/user/group/direct', (req) => {
    const u = userParam(req);
    if (isResponse(u)) return u;
    const name = req.query.get('groupname') ?? '';
    const g = store.group(name);
    if (!g) return fail(404, 'GROUP_NOT_FOUND', `Group <${name}> does not exist`);
    if (!g.members.delete(u.key)) return fail(404, 'MEMBERSHIP_NOT_FOUND', `${u.name} is not a direct member of ${g.name}`);
    return { status: 204 };
  });
  on('GET', '/group', (req) => {
    const g = store.group(req.query.get('groupname') ?? '');
    return g ? { status: 200, body: groupJson(req, g) } : fail(404, 'GROUP_NOT_FOUND', `Group <${req.query.get('groupname')}> does not exist`);
  });
  on('POST', '/group', (req) => {
    const b = body(req);
    const name = str(b.name).trim();
    if (!name || (b.type !== undefined && b.type !== 'GROUP')) return fail(400, 'INVALID_GROUP', 'A group needs a name and type GROUP');
    if (store.group(name)) return fail(400, 'INVALID_GROUP', `Group <${name}> already exists`);
    const g = store.addGroup(name, str(b.description));
    g.active = b.active !== false;
    return { status: 201, headers: { location: `${base(req)}/group?groupname=${encodeURIComponent(name)}` } };
  });
  on('GET', '/group/user/direct', (req) => {
    const g = store.group(req.query.get('groupname') ?? '');
    if (!g) return fail(404, 'GROUP_NOT_FOUND', `Group <${req.query.get('groupname')}> does not exist`);
    const { start, max } = paging(req);
    const names = [...g.members].map((k) => store.users.get(k)!.name).sort();
    return { status: 200, body: { expand: 'user', users: names.slice(start, start + max).map((name) => ({ name })) } };
  });
  // Search: GET with a CQL `restriction` parameter, or POST with a search-restriction body; both
  // take entity-type, start-index and max-results (developer.atlassian.com/server/crowd/rest, "Search").
  const search = (req: EmulatorRequest, compile: () => (u: CrowdUser) => boolean): EmulatorResponse => {
    if (req.query.get('entity-type') !== 'user') return fail(400, 'ILLEGAL_ARGUMENT', 'this emulator searches entity-type=user only');
    let match;
    try {
      match = compile();
    } catch (e) {
      return fail(400, 'ILLEGAL_ARGUMENT', (e as CqlError).message);
    }
    const { start, max } = paging(req);
    const found = [...store.users.values()].filter(match).sort((a, b) => a.name.localeCompare(b.name)).slice(start, start + max);
    const full = (req.query.get('expand') ?? '').includes('user');
    return {
      status: 200,
      body: { expand: 'user', users: found.map((u) => (full ? userJson(req, u, false) : { link: userJson(req, u, false).link, name: u.name })) },
    };
  };
  on('GET', '/search', (req) => search(req, () => compileCql(req.query.get('restriction') ?? '')));
  on('POST', '/search', (req) => search(req, () => compileRestriction(req.body)));

  // Crowd answers XML unless asked for JSON; authentication comes first.
  const router = new Router();
  const wrap = async (req: EmulatorRequest): Promise<EmulatorResponse> => {
    const auth = String(req.headers.authorization ?? '');
    const ok = auth.startsWith('Basic ') && Buffer.from(auth.slice(6), 'base64').toString('utf8') === `${application.name}:${application.password}`;
    if (!ok) return { status: 401, headers: { 'www-authenticate': 'BASIC realm="Crowd REST Service"' }, body: 'Application failed to authenticate' };
    const m = routes.match(req.method, req.path);
    if (m === undefined) return fail(404, 'OPERATION_FAILED', `No resource at ${req.path}`);
    if (m === 'method') return fail(405, 'OPERATION_FAILED', `Method ${req.method} not allowed`);
    const res = await m.handler({ ...req, params: m.params });
    const wantsJson = String(req.headers.accept ?? '').includes('application/json');
    if (!wantsJson && res.body !== undefined && typeof res.body === 'object') {
      return { ...res, headers: { ...res.headers, 'content-type': 'application/xml' }, body: toXml(res.body) };
    }
    return res;
  };
  router.on('GET', '/rest/*', wrap).on('POST', '/rest/*', wrap).on('PUT', '/rest/*', wrap).on('DELETE', '/rest/*', wrap);

  const control = new Router()
    .on('GET', '/users', () => ({
      status: 200,
      body: [...store.users.values()].map((u) => ({ ...u, attributes: Object.fromEntries(u.attributes), groups: store.groupsOf(u).map((g) => g.name) })),
    }));

  const emu = await startEmulator({
    name: 'crowd',
    router,
    control,
    tls: opts.tls,
    port: opts.port,
    errorBody: (_status, message) => ({ reason: 'OPERATION_FAILED', message }),
    onReset: () => {
      store = new CrowdStore(seed);
      result.store = store;
    },
  });
  const result: CrowdEmulator = Object.assign(emu, { store, application });
  return result;
}

/** A plain XML rendering of a JSON answer: what a client that forgot `Accept` would get. */
function toXml(value: unknown, name = 'response'): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const render = (v: unknown, tag: string): string => {
    if (Array.isArray(v)) return v.map((x) => render(x, tag)).join('');
    if (v && typeof v === 'object') return `<${tag}>${Object.entries(v).map(([k, x]) => render(x, k)).join('')}</${tag}>`;
    return `<${tag}>${esc(String(v))}</${tag}>`;
  };
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${render(value, name)}`;
}
