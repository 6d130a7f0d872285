// Confluence DC REST resources idsync uses: the admin user API of 8.4+ (create, update,
// disable/enable, asynchronous delete), user reads and listing, memberships and groups.
import type { EmulatorRequest, EmulatorResponse, Handler, Router } from '../common/server.ts';
import { restCaller, type Sessions } from './auth.ts';
import { dcError, expandSet, groupJson, membersPage, page, paging, userJson } from './http-shapes.ts';
import type { ConfluenceDcStore, ConfluenceDcUser } from './store.ts';

export interface DcRestOptions {
  /** Licensed seats: creating a user past this answers 402. */
  licenseLimit: number;
  /** How long a user removal task runs before the user is gone (Confluence removes asynchronously). */
  deletionMs: number;
}

/** The documented userName rules of POST /rest/api/admin/user. */
export function userNameProblem(userName: unknown): string | undefined {
  if (typeof userName !== 'string' || userName.trim() === '') return 'The userName should not be null or blank';
  if (/[\\,+<>'"]/.test(userName)) return `The userName should not contain any of these characters \\ , + < > ' "`;
  if (/\s/.test(userName)) return 'The userName should not contain any whitespace characters';
  if (userName === 'anonymous') return 'The userName should not be "anonymous"';
  if (userName !== userName.toLowerCase()) return 'The userName should not contain any upper case characters';
  return undefined;
}

function fullNameProblem(fullName: unknown): string | undefined {
  if (typeof fullName !== 'string' || fullName.trim() === '') return 'The fullName should not be null or blank';
  if (/[<>]/.test(fullName)) return 'The fullName should not contain any of these characters < >';
  if (fullName === 'anonymous') return 'The fullName should not be "anonymous"';
  return undefined;
}

function emailProblem(email: unknown): string | undefined {
  if (typeof email !== 'string' || email.trim() === '') return 'The email should not be null or blank';
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) return 'The email should be a valid email address';
  return undefined;
}

export function registerRest(router: Router, store: ConfluenceDcStore, sessions: Sessions, opts: DcRestOptions): void {
  type Authed = (req: EmulatorRequest, caller: ConfluenceDcUser) => EmulatorResponse | Promise<EmulatorResponse>;
  const authed =
    (handler: Authed, admin = false): Handler =>
    (req) => {
      const caller = restCaller(req, store, sessions);
      if (!caller) return dcError(401, 'Authentication required: send Basic credentials or a personal access token');
      if (admin && !caller.admin) return dcError(403, 'The calling user does not have the Confluence Administrator global permission');
      return handler(req, caller);
    };

  /** The user named by `?username=` or `?key=`, or the error Confluence answers. */
  const findUser = (req: EmulatorRequest): { user: ConfluenceDcUser } | { error: EmulatorResponse } => {
    const username = req.query.get('username');
    const key = req.query.get('key');
    if (!username && !key) return { error: dcError(400, 'A username or key query parameter is required') };
    const user = key ? store.getByKey(key) : store.getByName(username!);
    return user ? { user } : { error: dcError(404, `No user found with ${key ? `key ${key}` : `username ${username}`}`) };
  };

  router
    .on('GET', '/rest/api/user/current', authed((req, caller) => ({ status: 200, body: userJson(req, caller, expandSet(req)) })))
    .on(
      'GET',
      '/rest/api/user',
      authed((req) => {
        const found = findUser(req);
        return 'error' in found ? found.error : { status: 200, body: userJson(req, found.user, expandSet(req)) };
      }),
    )
    .on(
      'GET',
      '/rest/api/user/list',
      authed((req) => {
        const p = paging(req);
        if ('status' in p) return p;
        const expand = expandSet(req);
        const keys = store.sortedUserKeys();
        return membersPage(req, store, keys, p.start, p.limit, expand);
      }),
    )
    .on(
      'GET',
      '/rest/api/user/memberof',
      authed((req) => {
        const found = findUser(req);
        if ('error' in found) return found.error;
        const p = paging(req);
        if ('status' in p) return p;
        return page(req, store.groupsOf(found.user.userKey).map((g) => groupJson(req, g)), p.start, p.limit);
      }),
    )
    .on(
      'PUT',
      '/rest/api/user/:username/group/:groupName',
      authed((req) => {
        const u = store.getByName(req.params.username!);
        if (!u) return dcError(404, `User ${req.params.username} does not exist`);
        if (!store.getGroup(req.params.groupName!)) return dcError(404, `Group ${req.params.groupName} does not exist`);
        store.addMember(req.params.groupName!, u.userKey);
        return { status: 204 };
      }, true),
    )
    .on(
      'DELETE',
      '/rest/api/user/:username/group/:groupName',
      authed((req) => {
        const u = store.getByName(req.params.username!);
        if (!u) return dcError(404, `User ${req.params.username} does not exist`);
        if (!store.getGroup(req.params.groupName!)) return dcError(404, `Group ${req.params.groupName} does not exist`);
        store.removeMember(req.params.groupName!, u.userKey);
        return { status: 204 };
      }, true),
    )
    .on(
      'GET',
      '/rest/api/group/:groupName',
      authed((req) => (store.getGroup(req.params.groupName!) ? { status: 200, body: groupJson(req, store.getGroup(req.params.groupName!)!.name) } : dcError(404, `Group ${req.params.groupName} does not exist`))),
    )
    .on(
      'GET',
      '/rest/api/group/:groupName/member',
      authed((req) => {
        const keys = store.membersOf(req.params.groupName!);
        if (!keys) return dcError(404, `Group ${req.params.groupName} does not exist`);
        const p = paging(req);
        if ('status' in p) return p;
        return membersPage(req, store, keys, p.start, p.limit, expandSet(req));
      }),
    )
    .on(
      'POST',
      '/rest/api/admin/group',
      authed((req) => {
        const name = (req.body as { name?: unknown })?.name;
        if (typeof name !== 'string' || name.trim() === '') return dcError(400, 'The group name should not be null or blank');
        if (store.getGroup(name)) return dcError(409, `Group ${name} already exists`);
        return { status: 201, body: groupJson(req, store.createGroup(name).name) };
      }, true),
    )
    // ------------------------------------------------ admin user API (Confluence 8.4+)
    .on(
      'GET',
      '/rest/api/admin/users/list/active',
      authed((req) => {
        const p = paging(req);
        if ('status' in p) return p;
        const keys = store.sortedUserKeys().filter((k) => store.getByKey(k)!.active);
        return membersPage(req, store, keys, p.start, p.limit, expandSet(req));
      }, true),
    )
    .on(
      'POST',
      '/rest/api/admin/user',
      authed((req) => {
        const b = (req.body ?? {}) as { userName?: unknown; fullName?: unknown; email?: unknown; password?: unknown; notifyViaEmail?: unknown };
        const problems = [userNameProblem(b.userName), fullNameProblem(b.fullName), emailProblem(b.email)].filter((p): p is string => !!p);
        if (b.notifyViaEmail === true && b.password !== undefined) problems.push('If notifyViaEmail is true then the password should not be specified');
        if (b.notifyViaEmail !== true && (typeof b.password !== 'string' || b.password === '')) problems.push('If notifyViaEmail is false then the password should not be null or blank');
        if (problems.length) return dcError(400, problems[0]!, problems);
        if (store.getByName(b.userName as string)) return dcError(409, `A user with the username ${b.userName as string} already exists`);
        if (store.activeCount >= opts.licenseLimit) return dcError(402, 'No licence seat left: the user limit of this Confluence licence is reached');
        const u = store.createUser({ username: b.userName as string, fullName: b.fullName as string, email: b.email as string, password: b.password as string | undefined });
        return { status: 201, body: { userKey: u.userKey } };
      }, true),
    )
    .on(
      'PUT',
      '/rest/api/admin/user/:username',
      authed((req) => {
        const u = store.getByName(req.params.username!);
        if (!u) return dcError(404, `User ${req.params.username} does not exist`);
        const b = (req.body ?? {}) as { email?: unknown; fullName?: unknown };
        const problems = [b.fullName !== undefined ? fullNameProblem(b.fullName) : undefined, b.email !== undefined ? emailProblem(b.email) : undefined].filter((p): p is string => !!p);
        if (problems.length) return dcError(400, problems[0]!, problems);
        store.updateUser(u.userKey, { fullName: b.fullName as string | undefined, email: b.email as string | undefined });
        return { status: 204 };
      }, true),
    )
    .on(
      'PUT',
      '/rest/api/admin/user/:username/disable',
      authed((req) => {
        const u = store.getByName(req.params.username!);
        if (!u) return dcError(404, `User ${req.params.username} does not exist`);
        store.updateUser(u.userKey, { active: false });
        return { status: 204 };
      }, true),
    )
    .on(
      'PUT',
      '/rest/api/admin/user/:username/enable',
      authed((req) => {
        const u = store.getByName(req.params.username!);
        if (!u) return dcError(404, `User ${req.params.username} does not exist`);
        if (!u.active && store.activeCount >= opts.licenseLimit) return dcError(402, 'No licence seat left: the user limit of this Confluence licence is reached');
        store.updateUser(u.userKey, { active: true });
        return { status: 204 };
      }, true),
    )
    .on(
      'POST',
      '/rest/api/admin/user/:username/password',
      authed((req) => {
        const u = store.getByName(req.params.username!);
        if (!u) return dcError(404, `User ${req.params.username} does not exist`);
        const pw = (req.body as { password?: unknown })?.password;
        if (typeof pw !== 'string' || pw === '') return dcError(400, 'The new password should not be null or blank');
        u.password = pw;
        return { status: 204 };
      }, true),
    )
    .on(
      'DELETE',
      '/rest/api/admin/user/:username',
      authed((req) => {
        const u = store.getByName(req.params.username!);
        if (!u) return dcError(404, `User ${req.params.username} does not exist`);
        // "This action is processed asynchronously": 202 with the long task to follow; the
        // user stays until the task has run (see docs/protocol-facts.md).
        const { id } = store.startDeletion(u.userKey, opts.deletionMs);
        return { status: 202, body: { id, links: { status: `/rest/api/longtask/${id}` } } };
      }, true),
    )
    .on(
      'GET',
      '/rest/api/longtask/:id',
      authed((req) => {
        const t = store.longTasks.get(req.params.id!);
        if (!t) return dcError(404, `No long-running task ${req.params.id}`);
        return {
          status: 200,
          body: {
            id: t.id,
            name: { key: 'delete.user', args: [t.username] },
            percentageComplete: t.finished ? 100 : 50,
            successful: t.successful,
            finished: t.finished,
            messages: t.messages.map((m) => ({ translation: m, args: [] })),
          },
        };
      }),
    );
}
