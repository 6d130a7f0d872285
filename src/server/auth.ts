// Who is calling: a browser session (HttpOnly SameSite=Strict cookie, plus a double-submit CSRF
// token for anything that changes state) or an API token (Authorization: Bearer). Sessions and
// tokens are looked up by hash; see src/store/auth.ts.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthRepo, Role, UserRecord } from '../store/auth.ts';
import type { Authenticator } from './routes.ts';

export const SESSION_COOKIE = 'idsync_session';
export const CSRF_COOKIE = 'idsync_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_MS = 12 * 60 * 60_000;

export interface Principal {
  user: UserRecord;
  role: Role;
  via: 'session' | 'token';
  /** The session id (cookie value), to end it at logout. */
  sessionId?: string;
}

function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function authenticator(auth: AuthRepo): Authenticator {
  return async (req) => {
    const header = req.headers.authorization;
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const found = m ? await auth.tokenPrincipal(m[1]!) : undefined;
      if (!found) return { csrfOk: false, error: 'the API token is unknown or revoked; create a new one under Settings → API tokens' };
      return { principal: { user: found.user, role: found.user.role, via: 'token' }, csrfOk: true };
    }
    const sessionId = req.cookies?.[SESSION_COOKIE];
    if (!sessionId) return { csrfOk: false };
    const session = await auth.session(sessionId);
    if (!session) return { csrfOk: false, error: 'your session has ended; log in again' };
    const headerToken = req.headers[CSRF_HEADER];
    const csrfOk = sameSecret(typeof headerToken === 'string' ? headerToken : undefined, session.csrf) && sameSecret(req.cookies?.[CSRF_COOKIE], session.csrf);
    return { principal: { user: session.user, role: session.user.role, via: 'session', sessionId }, csrfOk };
  };
}

/**
 * Secure whenever the browser sees https: the server's own TLS, or (with trustProxy) a proxy's
 * X-Forwarded-Proto, both of which Fastify's request.protocol reflects.
 */
const cookieBase = (req: FastifyRequest) => ({ path: '/', sameSite: 'strict' as const, secure: req.protocol === 'https' });

export function setSessionCookies(reply: FastifyReply, req: FastifyRequest, s: { sessionId: string; csrf: string }): void {
  const base = { ...cookieBase(req), maxAge: SESSION_TTL_MS / 1000 };
  reply.setCookie(SESSION_COOKIE, s.sessionId, { ...base, httpOnly: true });
  // Readable by the page's script, which copies it into the X-CSRF-Token header.
  reply.setCookie(CSRF_COOKIE, s.csrf, { ...base, httpOnly: false });
}

export function clearSessionCookies(reply: FastifyReply, req: FastifyRequest): void {
  reply.clearCookie(SESSION_COOKIE, cookieBase(req));
  reply.clearCookie(CSRF_COOKIE, cookieBase(req));
}
