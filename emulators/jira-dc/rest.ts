// Jira Data Center REST /rest/api/2 as idsync uses it: users, groups, memberships and user
// properties, with Jira's paging, validation and error envelope
// `{"errorMessages":[...],"errors":{field: message}}`.
// Sources for the shapes: the DC REST reference and jira.js's server client (paths, query
// parameters, bodies). Messages marked "approx." follow Jira's wording as far as known.
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import { Router } from '../common/server.ts';
import type { JiraDcStore, JiraDcUser } from './store.ts';

export const API = '/rest/api/2';
/** Jira's entity-property limits: key 255 characters, value 32,768 bytes of the request body
 * (Jira's BasePropertyResource / JsonEntityPropertyManagerImpl; see docs/protocol-facts.md). */
export const PROPERTY_KEY_MAX = 255;
export const PROPERTY_VALUE_MAX = 32_768;
const ADMIN_GROUPS = ['jira-administrators', 'jira-system-administrators'];

export function jiraError(status: number, messages: string[] | string, errors: Record<string, string> = {}): EmulatorResponse {
  return { status, body: { errorMessages: Array.isArray(messages) ? messages : [messages], errors } };
}

export interface Caller {
  user: JiraDcUser;
  admin: boolean;
}

export interface AuthConfig {
  /** PAT → username. */
  patTokens: Map<string, string>;
  /** username → password (Basic). */
  basicUsers: Map<string, string>;
}

/** Resolves the caller from `Authorization: Bearer <PAT>` or Basic; undefined means 401. */
export function authenticate(req: EmulatorRequest, auth: AuthConfig, store: JiraDcStore): Caller | undefined {
  const header = String(req.headers.authorization ?? '');
  let username: string | undefined;
  if (header.startsWith('Bearer ')) username = auth.patTokens.get(header.slice(7).trim());
  else if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const name = decoded.slice(0, i);
    const password = decoded.slice(i + 1);
    if (i > 0 && auth.basicUsers.get(name) === password) username = name;
  }
  const user = username === undefined ? undefined : store.getByName(username);
  if (!user || !user.active) return undefined;
  return { user, admin: ADMIN_GROUPS.some((g) => store.isMember(g, user.key)) };
}

export function userJson(store: JiraDcStore, u: JiraDcUser, origin: string, expandGroups = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    self: `${origin}${API}/user?username=${encodeURIComponent(u.name)}`,
    key: u.key,
    name: u.name,
    emailAddress: u.emailAddress,
    avatarUrls: { '48x48': `${origin}/secure/useravatar?ownerId=${encodeURIComponent(u.key)}` },
    displayName: u.displayName,
    active: u.active,
    deleted: false,
    timeZone: 'UTC',
    locale: 'en_US',
    expand: 'groups,applicationRoles',
  };
  if (expandGroups) {
    const names = store.groupsOf(u.key);
    out.groups = {
      size: names.length,
      items: names.map((name) => ({ name, self: `${origin}${API}/group?groupname=${encodeURIComponent(name)}` })),
    };
  }
  return out;
}

function intParam(q: URLSearchParams, name: string, dflt: number, max?: number): number {
  const raw = q.get(name);
  const n = raw === null || raw === '' ? dflt : Number.parseInt(raw, 10);
  const v = Number.isFinite(n) && n >= 0 ? n : dflt;
  return max === undefined ? v : Math.min(v, max);
}

function boolParam(q: URLSearchParams, name: string, dflt: boolean): boolean {
  const raw = q.get(name);
  return raw === null ? dflt : raw.toLowerCase() === 'true';
}

const notFoundUser = (ref: string) => jiraError(404, `The user named '${ref}' does not exist`);

/** The user addressed by `?username=` or `?key=` (`userKey=` on property routes). */
function targetUser(store: JiraDcStore, q: URLSearchParams): JiraDcUser | EmulatorResponse {
  const username = q.get('username');
  const key = q.get('key') ?? q.get('userKey');
  if (username === null && key === null) return jiraError(400, 'Either the username or the key query parameter must be provided');
  const u = username !== null ? store.getByName(username) : store.getByKey(key!);
  return u ?? notFoundUser(username ?? key!);
}

const isResponse = (x: unknown): x is EmulatorResponse => typeof x === 'object' && x !== null && 'status' in x && !('key' in x);

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export interface RestOptions {
  store: JiraDcStore;
  auth: AuthConfig;
  /** Jira DC accepts duplicate email addresses; the emulator can refuse them to test that path. */
  uniqueEmails: boolean;
  serverTitle: string;
  /** Groups every created user joins (Jira's application default groups). */
  defaultGroups: string[];
}

type Authed = (req: EmulatorRequest, caller: Caller) => EmulatorResponse | Promise<EmulatorResponse>;

export function restRouter(opts: RestOptions): Router {
  const { store } = opts;
  const r = new Router();

  const authed = (fn: Authed, adminOnly = false) => (req: EmulatorRequest) => {
    const caller = authenticate(req, opts.auth, store);
    if (!caller) return jiraError(401, 'You are not authenticated. Authentication required to perform this operation.');
    if (adminOnly && !caller.admin) return jiraError(403, 'You do not have the permission to perform this operation (Jira Administrators only).');
    return fn(req, caller);
  };

  // -------------------------------------------------------------- server and caller

  r.on('GET', `${API}/serverInfo`, (req) => ({
    status: 200,
    body: {
      baseUrl: req.origin,
      version: '9.12.15',
      versionNumbers: [9, 12, 15],
      deploymentType: 'Server',
      buildNumber: 9120015,
      buildDate: '2024-10-01T00:00:00.000+0000',
      serverTime: new Date().toISOString().replace('Z', '+0000'),
      scmInfo: 'emulator',
      serverTitle: opts.serverTitle,
    },
  }));

  r.on('GET', `${API}/myself`, authed((req, c) => ({ status: 200, body: userJson(store, c.user, req.origin, true) })));

  r.on(
    'GET',
    `${API}/mypermissions`,
    authed((req, c) => {
      const asked = (req.query.get('permissions') ?? 'ADMINISTER').split(',').filter(Boolean);
      const permissions: Record<string, unknown> = {};
      for (const key of asked) {
        const admin = key === 'ADMINISTER' || key === 'SYSTEM_ADMIN';
        permissions[key] = { key, name: key, type: admin ? 'GLOBAL' : 'PROJECT', havePermission: admin ? c.admin : true };
      }
      return { status: 200, body: { permissions } };
    }),
  );

  // -------------------------------------------------------------- users

  r.on(
    'GET',
    `${API}/user`,
    authed((req) => {
      const u = targetUser(store, req.query);
      if (isResponse(u)) return u;
      const expand = (req.query.get('expand') ?? '').split(',');
      return { status: 200, body: userJson(store, u, req.origin, expand.includes('groups')) };
    }),
  );

  r.on(
    'GET',
    `${API}/user/search`,
    authed((req) => {
      const query = (req.query.get('username') ?? '').toLowerCase();
      if (!query) return jiraError(400, "The username query parameter was not provided");
      const startAt = intParam(req.query, 'startAt', 0);
      const maxResults = intParam(req.query, 'maxResults', 50, 1000);
      const includeActive = boolParam(req.query, 'includeActive', true);
      const includeInactive = boolParam(req.query, 'includeInactive', false);
      const out: unknown[] = [];
      let skipped = 0;
      for (const u of store.searchCandidates(query)) {
        if (u.active ? !includeActive : !includeInactive) continue;
        if (!matchesSearch(u, query)) continue;
        if (skipped++ < startAt) continue;
        out.push(userJson(store, u, req.origin));
        if (out.length >= maxResults) break;
      }
      return { status: 200, body: out };
    }),
  );

  r.on(
    'POST',
    `${API}/user`,
    authed((req) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      const errors: Record<string, string> = {};
      const name = typeof b.name === 'string' ? b.name.trim() : '';
      const email = typeof b.emailAddress === 'string' ? b.emailAddress.trim() : '';
      const displayName = typeof b.displayName === 'string' ? b.displayName.trim() : '';
      if (!name) errors.username = 'You must specify a username.';
      else if (store.getByName(name)) errors.username = 'A user with that username already exists.';
      if (!displayName) errors.displayName = 'You must specify a full name.';
      if (!email) errors.email = 'You must specify an email address.';
      else if (!EMAIL.test(email)) errors.email = 'You must specify a valid email address.';
      else if (opts.uniqueEmails && store.getByEmail(email).length) errors.email = 'A user with that email address already exists.';
      if (Object.keys(errors).length) return jiraError(400, [], errors);
      const user = store.createUser({
        name,
        displayName,
        emailAddress: email,
        active: typeof b.active === 'boolean' ? b.active : true,
        password: typeof b.password === 'string' ? b.password : undefined,
      });
      // Jira puts new users into the default group of each application they get access to.
      for (const g of opts.defaultGroups) {
        store.ensureGroup(g);
        store.addMember(g, user.key);
      }
      return { status: 201, body: userJson(store, user, req.origin) };
    }, true),
  );

  r.on(
    'PUT',
    `${API}/user`,
    authed((req) => {
      const u = targetUser(store, req.query);
      if (isResponse(u)) return u;
      const b = (req.body ?? {}) as Record<string, unknown>;
      const errors: Record<string, string> = {};
      const patch: Parameters<JiraDcStore['updateUser']>[1] = {};
      if (b.name !== undefined) {
        const name = typeof b.name === 'string' ? b.name.trim() : '';
        const other = name ? store.getByName(name) : undefined;
        if (!name) errors.username = 'You must specify a username.';
        else if (other && other.key !== u.key) errors.username = 'A user with that username already exists.';
        else patch.name = name;
      }
      if (b.displayName !== undefined) {
        if (typeof b.displayName !== 'string' || !b.displayName.trim()) errors.displayName = 'You must specify a full name.';
        else patch.displayName = b.displayName.trim();
      }
      if (b.emailAddress !== undefined) {
        const email = typeof b.emailAddress === 'string' ? b.emailAddress.trim() : '';
        const taken = opts.uniqueEmails && store.getByEmail(email).some((o) => o.key !== u.key);
        if (!email || !EMAIL.test(email)) errors.email = 'You must specify a valid email address.';
        else if (taken) errors.email = 'A user with that email address already exists.';
        else patch.emailAddress = email;
      }
      const refusals: string[] = [];
      if (b.active !== undefined) {
        if (typeof b.active !== 'boolean') errors.active = 'active must be true or false.';
        else patch.active = b.active;
        // Jira restricts deactivating a project lead as it restricts deleting one (the lead is
        // the default assignee); wording approx., see docs/protocol-facts.md.
        if (b.active === false && u.active && u.projectLeadOf.length) {
          refusals.push(`Cannot deactivate user '${u.name}' because they are the project lead of ${u.projectLeadOf.join(', ')}. Choose another project lead first.`);
        }
      }
      if (typeof b.password === 'string') patch.password = b.password;
      if (Object.keys(errors).length || refusals.length) return jiraError(400, refusals, errors);
      store.updateUser(u.key, patch);
      return { status: 200, body: userJson(store, u, req.origin) };
    }, true),
  );

  r.on(
    'DELETE',
    `${API}/user`,
    authed((req, caller) => {
      const u = targetUser(store, req.query);
      if (isResponse(u)) return u;
      // Jira's UserService validates a delete before doing it and answers 400 with its reasons
      // in errorMessages: no deleting yourself, and no deleting a project lead until the project
      // has another lead (wording approx.; see docs/protocol-facts.md, "Jira DC: delete user").
      const refusals: string[] = [];
      if (u.key === caller.user.key) refusals.push('You cannot delete the currently logged in user.');
      if (u.projectLeadOf.length) {
        refusals.push(
          `Cannot delete user '${u.name}' because they are the project lead of ${u.projectLeadOf.length} project(s): ${u.projectLeadOf.join(', ')}. Choose another project lead first.`,
        );
      }
      if (refusals.length) return jiraError(400, refusals);
      store.deleteUser(u.key);
      return { status: 204 };
    }, true),
  );

  // -------------------------------------------------------------- groups

  r.on(
    'POST',
    `${API}/group`,
    authed((req) => {
      const name = String((req.body as { name?: unknown } | undefined)?.name ?? '').trim();
      if (!name) return jiraError(400, 'You must specify a group name.');
      if (store.hasGroup(name)) return jiraError(400, `A group or user with this name already exists.`);
      store.ensureGroup(name);
      return { status: 201, body: groupJson(req.origin, name) };
    }, true),
  );

  r.on(
    'GET',
    `${API}/group/member`,
    authed((req) => {
      const groupname = req.query.get('groupname') ?? '';
      if (!store.hasGroup(groupname)) return jiraError(404, `The group '${groupname}' does not exist.`); // approx.
      const includeInactive = boolParam(req.query, 'includeInactiveUsers', false);
      const startAt = intParam(req.query, 'startAt', 0);
      const maxResults = intParam(req.query, 'maxResults', 50, 50);
      let keys = store.members(groupname);
      if (!includeInactive) keys = keys.filter((k) => store.getByKey(k)!.active);
      const page = keys.slice(startAt, startAt + maxResults);
      const isLast = startAt + page.length >= keys.length;
      const self = `${req.origin}${API}/group/member?groupname=${encodeURIComponent(groupname)}`;
      return {
        status: 200,
        body: {
          self: `${self}&startAt=${startAt}&maxResults=${maxResults}`,
          ...(isLast ? {} : { nextPage: `${self}&startAt=${startAt + maxResults}&maxResults=${maxResults}` }),
          maxResults,
          startAt,
          total: keys.length,
          isLast,
          values: page.map((k) => userJson(store, store.getByKey(k)!, req.origin)),
        },
      };
    }),
  );

  r.on(
    'POST',
    `${API}/group/user`,
    authed((req) => {
      const groupname = req.query.get('groupname') ?? '';
      const name = String((req.body as { name?: unknown } | undefined)?.name ?? '');
      if (!groupname) return jiraError(400, 'The groupname query parameter was not provided');
      if (!name) return jiraError(400, 'You must specify the name of the user to add.');
      if (!store.hasGroup(groupname)) return jiraError(404, `Group '${groupname}' does not exist.`); // approx.
      const user = store.getByName(name);
      if (!user) return notFoundUser(name);
      // Jira DC refuses a second add of a member (approx. wording of its validation message).
      if (store.isMember(groupname, user.key)) {
        return jiraError(400, `Cannot add user. '${user.name}' is already a member of '${store.groupName(groupname)}'`);
      }
      store.addMember(groupname, user.key);
      return { status: 201, body: groupJson(req.origin, store.groupName(groupname)!) };
    }, true),
  );

  r.on(
    'DELETE',
    `${API}/group/user`,
    authed((req) => {
      const groupname = req.query.get('groupname') ?? '';
      const username = req.query.get('username') ?? '';
      if (!store.hasGroup(groupname)) return jiraError(404, `Group '${groupname}' does not exist.`); // approx.
      const user = store.getByName(username);
      if (!user) return notFoundUser(username);
      if (!store.isMember(groupname, user.key)) {
        return jiraError(400, `Cannot remove user. '${user.name}' is not a member of '${store.groupName(groupname)}'`); // approx.
      }
      store.removeMember(groupname, user.key);
      return { status: 200 };
    }, true),
  );

  r.on(
    'GET',
    `${API}/groups/picker`,
    authed((req) => {
      const query = (req.query.get('query') ?? '').toLowerCase();
      const maxResults = intParam(req.query, 'maxResults', 20, 1000);
      const matching = store.allGroups().filter((g) => g.toLowerCase().includes(query)).sort();
      const shown = matching.slice(0, maxResults);
      return {
        status: 200,
        body: {
          header: `Showing ${shown.length} of ${matching.length} matching groups`,
          total: matching.length,
          groups: shown.map((name) => ({ name, html: name, labels: [] })),
        },
      };
    }),
  );

  // -------------------------------------------------------------- user properties

  r.on(
    'GET',
    `${API}/user/properties`,
    authed((req) => {
      const u = targetUser(store, req.query);
      if (isResponse(u)) return u;
      const self = (k: string) => `${req.origin}${API}/user/properties/${encodeURIComponent(k)}?userKey=${encodeURIComponent(u.key)}`;
      return { status: 200, body: { keys: store.propertyKeys(u.key).map((key) => ({ self: self(key), key })) } };
    }),
  );

  r.on(
    'GET',
    `${API}/user/properties/:propertyKey`,
    authed((req) => {
      const u = targetUser(store, req.query);
      if (isResponse(u)) return u;
      const key = req.params.propertyKey!;
      const json = store.getProperty(u.key, key);
      if (json === undefined) return jiraError(404, `Property with key '${key}' not found.`); // approx.
      return { status: 200, body: { key, value: JSON.parse(json) } };
    }),
  );

  r.on(
    'PUT',
    `${API}/user/properties/:propertyKey`,
    authed((req) => {
      const u = targetUser(store, req.query);
      if (isResponse(u)) return u;
      const key = req.params.propertyKey!;
      const text = req.rawBody;
      // Jira's BasePropertyResource reads at most 32,768 *bytes* of the body and refuses more
      // with 400 before anything else; then the entity-property service refuses an empty value,
      // a key over 255 characters (reported with the same "too long" message as a long value)
      // and JSON it cannot parse, all with 400 and the errorMessages envelope. Wording approx.
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > PROPERTY_VALUE_MAX) {
        return jiraError(400, `The property value exceeds the maximum length of ${PROPERTY_VALUE_MAX} bytes.`);
      }
      if (!text.trim()) return jiraError(400, 'The property value cannot be empty.');
      if (key.length > PROPERTY_KEY_MAX) {
        return jiraError(400, `The property is too long: the maximum length is ${PROPERTY_KEY_MAX} characters, but it has ${key.length}.`);
      }
      try {
        JSON.parse(text);
      } catch {
        return jiraError(400, 'The property value has to be a valid JSON.');
      }
      const created = store.setProperty(u.key, key, text);
      return { status: created ? 201 : 200 };
    }, true),
  );

  r.on(
    'DELETE',
    `${API}/user/properties/:propertyKey`,
    authed((req) => {
      const u = targetUser(store, req.query);
      if (isResponse(u)) return u;
      const key = req.params.propertyKey!;
      if (!store.deleteProperty(u.key, key)) return jiraError(404, `Property with key '${key}' not found.`); // approx.
      return { status: 204 };
    }, true),
  );

  return r;
}

function groupJson(origin: string, name: string): Record<string, unknown> {
  return {
    name,
    self: `${origin}${API}/group?groupname=${encodeURIComponent(name)}`,
    users: { size: 0, items: [], 'max-results': 50, 'start-index': 0, 'end-index': 0 },
    expand: 'users',
  };
}

/** Jira's user search matches the start of the username, the email, or any word of the display name. */
function matchesSearch(u: JiraDcUser, q: string): boolean {
  if (u.name.toLowerCase().startsWith(q)) return true;
  if (u.emailAddress.toLowerCase().startsWith(q)) return true;
  const dn = u.displayName.toLowerCase();
  if (dn.startsWith(q)) return true;
  return dn.split(/\s+/).some((w) => w.startsWith(q));
}
