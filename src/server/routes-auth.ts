// Log-in, first-run set-up, users and API tokens.
import { z } from 'zod';
import type { AuthRepo } from '../store/auth.ts';
import { clearSessionCookies, setSessionCookies, SESSION_TTL_MS } from './auth.ts';
import type { LoginLimiter } from './login-limiter.ts';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import { HttpError, type ApiRouter } from './routes.ts';

const role = z.enum(['administrator', 'viewer']);
const userOut = z.object({ id: z.string(), username: z.string(), role, createdAt: z.string() });
const tokenOut = z.object({ id: z.string(), name: z.string(), role, userId: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() });
const username = z.string().trim().min(1, 'enter a user name').max(100).regex(/^[^\s]+$/, 'no spaces in a user name');
// Its strength is checked in the handlers (requireStrong), which know the user name and run it
// only after cheaper refusals: the estimate takes tens of milliseconds.
const password = z.string().min(1, 'enter a password').max(1000);
const credentials = z.object({ username: z.string().trim().min(1).max(100), password: z.string().min(1).max(1000) });

// A hash to compare against when the user name is unknown, so timing does not tell which names exist.
let decoyHash: Promise<string> | undefined;

export function authRoutes(api: ApiRouter, auth: AuthRepo, limiter: LoginLimiter): void {
  api.route(
    {
      method: 'GET', path: '/api/v1/auth/status', tag: 'auth', access: 'public',
      summary: 'Whether set-up is needed and who is logged in',
      response: z.object({ setupRequired: z.boolean(), user: userOut.nullable() }),
    },
    async ({ principal }) => ({ setupRequired: (await auth.countUsers()) === 0, user: principal?.user ?? null }),
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/auth/setup', tag: 'auth', access: 'public',
      summary: 'Creates the first administrator (only while no user exists) and logs in',
      body: z.object({ username, password }), response: z.object({ user: userOut }), errors: { 409: 'an administrator exists already' },
    },
    async ({ body, req, reply }) => {
      const setUp = new HttpError(409, 'idsync is set up already; log in with an existing account');
      if ((await auth.countUsers()) > 0) throw setUp;
      requireStrong(body.password, body.username, 'password');
      // Concurrent set-ups all got this far; the store lets exactly one of them create the user.
      const user = await auth.createFirstAdministrator(body.username, await hashPassword(body.password));
      if (!user) throw setUp;
      setSessionCookies(reply, req, await auth.createSession(user.id, SESSION_TTL_MS));
      return { user };
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/auth/login', tag: 'auth', access: 'public',
      summary: 'Logs in; sets the session cookie and the CSRF cookie',
      body: credentials, response: z.object({ user: userOut }),
      errors: { 401: 'wrong user name or password', 429: 'too many failed attempts; wait (Retry-After)' },
    },
    async ({ body, req, reply }) => {
      const wait = limiter.retryAfterMs(body.username, req.ip);
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new HttpError(429, `too many failed log-ins; try again in ${Math.ceil(wait / 60_000)} minute(s)`);
      }
      const found = await auth.userWithHash(body.username);
      decoyHash ??= hashPassword('decoy password never used');
      const ok = await verifyPassword(body.password, found?.passwordHash ?? (await decoyHash));
      if (!found || !ok) {
        limiter.fail(body.username, req.ip);
        throw new HttpError(401, 'wrong user name or password');
      }
      limiter.succeed(body.username, req.ip);
      setSessionCookies(reply, req, await auth.createSession(found.user.id, SESSION_TTL_MS));
      return { user: found.user };
    },
  );

  api.route(
    { method: 'POST', path: '/api/v1/auth/logout', tag: 'auth', access: 'viewer', summary: 'Ends the browser session', status: 204 },
    async ({ principal, req, reply }) => {
      if (principal?.sessionId) await auth.deleteSession(principal.sessionId);
      clearSessionCookies(reply, req);
      return null;
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/auth/password', tag: 'auth', access: 'viewer',
      summary: 'Changes your own password (browser sessions only); your other sessions end, this one goes on',
      body: z.object({ currentPassword: z.string().min(1, 'enter your current password').max(1000), newPassword: password }),
      response: z.object({ user: userOut }),
      // A wrong current password is a form error (400), not 401: 401 means "not logged in" and
      // would send the browser back to the log-in page.
      errors: { 400: 'the current password is wrong, or the new one too weak', 403: 'an API token cannot change a password', 429: 'too many wrong attempts; wait (Retry-After)' },
    },
    async ({ body, principal, req, reply }) => {
      // A leaked token must not be able to take over its owner's account.
      if (principal!.via !== 'session') throw new HttpError(403, 'an API token cannot change a password; log in to the web UI to change yours');
      const me = principal!.user;
      const wait = limiter.retryAfterMs(me.username, req.ip);
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new HttpError(429, `too many wrong passwords; try again in ${Math.ceil(wait / 60_000)} minute(s)`);
      }
      const found = await auth.userWithHash(me.username);
      if (!found || !(await verifyPassword(body.currentPassword, found.passwordHash))) {
        limiter.fail(me.username, req.ip);
        throw new HttpError(400, 'the current password is wrong', { issues: [{ path: ['currentPassword'], message: 'wrong password' }] });
      }
      limiter.succeed(me.username, req.ip);
      requireStrong(body.newPassword, me.username, 'newPassword');
      // Ends every session of this user (another browser with the old password is logged out)...
      await auth.updateUser(me.id, { passwordHash: await hashPassword(body.newPassword) });
      // ...and this browser goes on with a fresh one.
      setSessionCookies(reply, req, await auth.createSession(me.id, SESSION_TTL_MS));
      return { user: me };
    },
  );

  // ------------------------------------------------------------ users

  api.route(
    { method: 'GET', path: '/api/v1/users', tag: 'users', access: 'viewer', summary: 'Lists users and their roles', response: z.object({ users: z.array(userOut) }) },
    async () => ({ users: await auth.listUsers() }),
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/users', tag: 'users', access: 'administrator', summary: 'Adds a user', status: 201,
      body: z.object({ username, password, role }), response: z.object({ user: userOut }), errors: { 409: 'the user name is taken' },
    },
    async ({ body }) => {
      if (await auth.userWithHash(body.username)) throw new HttpError(409, `a user named ${body.username} exists already`);
      requireStrong(body.password, body.username, 'password');
      return { user: await auth.createUser(body.username, await hashPassword(body.password), body.role) };
    },
  );

  api.route(
    {
      method: 'PATCH', path: '/api/v1/users/:id', tag: 'users', access: 'administrator', summary: "Changes a user's role or password (ends their sessions)",
      body: z.object({ role: role.optional(), password: password.optional() }), response: z.object({ user: userOut }), errors: { 404: 'no such user' },
    },
    async ({ body, params }) => {
      const user = await auth.getUser(params.id!);
      if (!user) throw new HttpError(404, 'no such user');
      if (body.role === 'viewer' && user.role === 'administrator') await keepOneAdministrator(auth, user.id);
      if (body.password) requireStrong(body.password, user.username, 'password');
      await auth.updateUser(user.id, { role: body.role, passwordHash: body.password ? await hashPassword(body.password) : undefined });
      return { user: (await auth.getUser(user.id))! };
    },
  );

  api.route(
    { method: 'DELETE', path: '/api/v1/users/:id', tag: 'users', access: 'administrator', summary: 'Removes a user, their sessions and tokens', status: 204, errors: { 404: 'no such user', 409: 'the last administrator cannot be removed' } },
    async ({ params, principal }) => {
      const user = await auth.getUser(params.id!);
      if (!user) throw new HttpError(404, 'no such user');
      if (user.id === principal?.user.id) throw new HttpError(409, 'you cannot remove your own account; ask another administrator');
      if (user.role === 'administrator') await keepOneAdministrator(auth, user.id);
      await auth.deleteUser(user.id);
      return null;
    },
  );

  // ------------------------------------------------------------ API tokens

  api.route(
    { method: 'GET', path: '/api/v1/tokens', tag: 'tokens', access: 'viewer', summary: 'Lists API tokens (never their values)', response: z.object({ tokens: z.array(tokenOut) }) },
    async () => ({ tokens: await auth.listTokens() }),
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/tokens', tag: 'tokens', access: 'administrator', status: 201,
      summary: 'Creates an API token; its value is in this answer only and is never shown again',
      body: z.object({ name: z.string().trim().min(1, 'give the token a name').max(100), role: role.default('viewer') }),
      response: z.object({ token: tokenOut, secret: z.string() }),
    },
    async ({ body, principal }) => auth.createToken(principal!.user.id, body.name, body.role),
  );

  api.route(
    { method: 'DELETE', path: '/api/v1/tokens/:id', tag: 'tokens', access: 'administrator', summary: 'Revokes an API token at once', status: 204, errors: { 404: 'no such active token' } },
    async ({ params }) => {
      if (!(await auth.revokeToken(params.id!))) throw new HttpError(404, 'no such active token');
      return null;
    },
  );
}

/** 400 placed at `field`, saying why and what to do, when the password is too easy to guess. */
function requireStrong(password: string, username: string, field: string): void {
  const problem = passwordProblem(password, [username]);
  if (problem) throw new HttpError(400, `invalid request body: ${field}: ${problem}`, { issues: [{ path: [field], message: problem }] });
}

async function keepOneAdministrator(auth: AuthRepo, leavingId: string): Promise<void> {
  const admins = (await auth.listUsers()).filter((u) => u.role === 'administrator' && u.id !== leavingId);
  if (admins.length === 0) throw new HttpError(409, 'idsync needs at least one administrator; make someone else administrator first');
}
