// Who is calling: Basic username:password or a personal access token (Bearer) for REST, and
// the JSESSIONID session cookie for the web actions (login form, websudo, admin forms).
import { randomBytes } from 'node:crypto';
import type { EmulatorRequest } from '../common/server.ts';
import type { ConfluenceDcStore, ConfluenceDcUser } from './store.ts';

export interface WebSession {
  id: string;
  userKey: string;
  /** XSRF token rendered into forms as `atl_token`. */
  xsrfToken: string;
  /** Secure administrator session (websudo) lasts until this time. */
  websudoUntil: number;
}

export class Sessions {
  private byId = new Map<string, WebSession>();

  create(userKey: string): WebSession {
    const s: WebSession = { id: randomBytes(16).toString('hex').toUpperCase(), userKey, xsrfToken: randomBytes(20).toString('hex'), websudoUntil: 0 };
    this.byId.set(s.id, s);
    return s;
  }

  get(id: string | undefined): WebSession | undefined {
    return id ? this.byId.get(id) : undefined;
  }

  clear(): void {
    this.byId.clear();
  }
}

export function cookies(req: EmulatorRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** Authenticates a REST call. `undefined` = no credentials, `null` = wrong credentials. */
export function restCaller(req: EmulatorRequest, store: ConfluenceDcStore, sessions: Sessions): ConfluenceDcUser | null | undefined {
  const h = String(req.headers.authorization ?? '');
  if (h.startsWith('Basic ')) {
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const user = store.getByName(decoded.slice(0, i));
    return user && user.active && user.password !== undefined && user.password === decoded.slice(i + 1) ? user : null;
  }
  if (h.startsWith('Bearer ')) {
    const user = store.getByToken(h.slice(7));
    return user && user.active ? user : null;
  }
  const session = sessions.get(cookies(req).JSESSIONID);
  if (session) return store.getByKey(session.userKey) ?? null;
  return undefined;
}
