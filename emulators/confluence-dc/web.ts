// The web side of Confluence DC that idsync needs for the profile fields no REST resource can
// write: the login form (session cookie), the secure administrator session ("websudo") and
// the administrator's Edit User Details form (EditUserAction, /admin/users/edituser.action),
// which reads `userparam-<field>` parameters into UserDetailsManager. XSRF is checked the way
// XWork actions check it: a matching `atl_token` form field, or the `X-Atlassian-Token:
// no-check` header that Atlassian documents for scripted form posts.
import type { EmulatorRequest, EmulatorResponse, Router } from '../common/server.ts';
import { cookies, type Sessions, type WebSession } from './auth.ts';
import { userNameProblem } from './rest.ts';
import { PROFILE_FIELDS, type ConfluenceDcStore, type ConfluenceDcUser, type ProfileField } from './store.ts';

export interface DcWebOptions {
  /** Secure administrator sessions on (Confluence's default). */
  websudo: boolean;
  websudoMinutes: number;
}

const html = (status: number, body: string, headers: Record<string, string> = {}): EmulatorResponse => ({
  status,
  headers: { 'content-type': 'text/html;charset=UTF-8', ...headers },
  body: `<!DOCTYPE html><html><head><title>Confluence</title></head><body>${body}</body></html>`,
});

const redirect = (location: string, headers: Record<string, string> = {}): EmulatorResponse => ({ status: 302, headers: { location, ...headers } });

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function form(req: EmulatorRequest): Record<string, string> {
  return req.body && typeof req.body === 'object' ? (req.body as Record<string, string>) : {};
}

export function registerWeb(router: Router, store: ConfluenceDcStore, sessions: Sessions, opts: DcWebOptions): void {
  const sessionOf = (req: EmulatorRequest): { session: WebSession; user: ConfluenceDcUser } | undefined => {
    const session = sessions.get(cookies(req).JSESSIONID);
    const user = session && store.getByKey(session.userKey);
    return session && user && user.active ? { session, user } : undefined;
  };

  /** Session, admin permission and websudo, in the order Confluence checks them. */
  const guard = (req: EmulatorRequest, destination: string): { session: WebSession; user: ConfluenceDcUser } | EmulatorResponse => {
    const s = sessionOf(req);
    if (!s) return redirect(`/login.action?os_destination=${encodeURIComponent(destination)}`);
    if (!s.user.admin) return html(403, '<div class="aui-message error">You are not permitted to perform this operation.</div>');
    if (opts.websudo && s.session.websudoUntil < Date.now()) return redirect(`/authenticate.action?destination=${encodeURIComponent(destination)}`);
    return s;
  };

  const editForm = (status: number, session: WebSession, target: ConfluenceDcUser, values: Record<string, string>, error?: string): EmulatorResponse => {
    const input = (name: string, value: string, type = 'text') => `<input type="${type}" name="${name}" id="${name}" value="${escapeHtml(value)}">`;
    return html(
      status,
      [
        `<meta name="ajs-atl-token" content="${session.xsrfToken}">`,
        error ? `<div class="aui-message error">${escapeHtml(error)}</div>` : '',
        '<form name="edituser" method="post" action="doedituser.action" class="aui">',
        input('atl_token', session.xsrfToken, 'hidden'),
        input('userKey', target.userKey, 'hidden'),
        // Editable: an administrator renames a user of the internal directory here (5.7+).
        input('username', values.username ?? target.username),
        input('fullName', values.fullName ?? ''),
        input('email', values.email ?? ''),
        ...PROFILE_FIELDS.map((f) => input(`userparam-${f}`, values[`userparam-${f}`] ?? '')),
        '<input type="submit" name="confirm" value="Submit"> <input type="submit" name="cancel" value="Cancel">',
        '</form>',
      ].join('\n'),
    );
  };

  const currentValues = (u: ConfluenceDcUser): Record<string, string> => {
    const v: Record<string, string> = { fullName: u.fullName, email: u.email };
    for (const f of PROFILE_FIELDS) v[`userparam-${f}`] = u.profile[f] ?? '';
    return v;
  };

  router
    .on('GET', '/login.action', () => html(200, '<form name="loginform" method="post" action="dologin.action"><input name="os_username"><input type="password" name="os_password"></form>'))
    .on('POST', '/dologin.action', (req) => {
      const f = form(req);
      const user = store.getByName(f.os_username ?? '');
      if (!user || !user.active || user.password === undefined || user.password !== f.os_password) {
        return html(200, '<div class="aui-message error">Sorry, your username and password are incorrect - please try again.</div>', { 'x-seraph-loginreason': 'AUTHENTICATION_DENIED' });
      }
      const session = sessions.create(user.userKey);
      return redirect(f.os_destination || '/index.action', { 'set-cookie': `JSESSIONID=${session.id}; Path=/; HttpOnly`, 'x-seraph-loginreason': 'OK' });
    })
    .on('GET', '/authenticate.action', (req) => {
      const s = sessionOf(req);
      if (!s) return redirect('/login.action');
      return html(
        200,
        `<form name="authenticateform" method="post" action="doauthenticate.action"><input type="hidden" name="atl_token" value="${s.session.xsrfToken}"><input type="hidden" name="destination" value="${escapeHtml(req.query.get('destination') ?? '')}"><input type="password" name="password"><input type="submit" name="authenticate" value="Confirm"></form>`,
      );
    })
    .on('POST', '/doauthenticate.action', (req) => {
      const s = sessionOf(req);
      if (!s) return redirect('/login.action');
      const f = form(req);
      if (s.user.password === undefined || f.password !== s.user.password) {
        return html(200, '<div class="aui-message error">The password you entered is incorrect.</div>');
      }
      s.session.websudoUntil = Date.now() + opts.websudoMinutes * 60_000;
      return redirect(f.destination || '/admin/console.action');
    })
    .on('GET', '/admin/users/edituser.action', (req) => {
      const username = req.query.get('username') ?? '';
      const g = guard(req, `/admin/users/edituser.action?username=${encodeURIComponent(username)}`);
      if ('status' in g) return g;
      const target = store.getByName(username);
      if (!target) return html(404, `<div class="aui-message error">User ${escapeHtml(username)} does not exist.</div>`);
      return editForm(200, g.session, target, currentValues(target));
    })
    .on('POST', '/admin/users/doedituser.action', (req) => {
      const f = form(req);
      const g = guard(req, `/admin/users/edituser.action?username=${encodeURIComponent(f.username ?? '')}`);
      if ('status' in g) return g;
      const noCheck = String(req.headers['x-atlassian-token'] ?? '').toLowerCase() === 'no-check';
      if (!noCheck && f.atl_token !== g.session.xsrfToken) {
        return html(403, '<h1>XSRF Security Token Missing</h1><p>This form did not contain a security token. Please return to the previous page and try again.</p>');
      }
      const target = f.userKey ? store.getByKey(f.userKey) : store.getByName(f.username ?? '');
      if (!target) return html(404, `<div class="aui-message error">User ${escapeHtml(f.userKey ?? f.username ?? '')} does not exist.</div>`);
      const fullName = (f.fullName ?? '').trim();
      const email = (f.email ?? '').trim();
      const newName = (f.username ?? target.username).trim();
      const taken = newName.toLowerCase() !== target.username && store.getByName(newName);
      const error = !fullName
        ? 'Full name is required.'
        : !/^[^@\s]+@[^@\s]+$/.test(email)
          ? 'Please enter a valid email address.'
          : userNameProblem(newName) ?? (taken ? 'A user with this username already exists.' : undefined);
      if (error) return editForm(200, g.session, target, { ...currentValues(target), ...f }, error);
      store.renameUser(target.userKey, newName);
      store.updateUser(target.userKey, { fullName, email });
      // UserDetailsMap writes every known field from the form; a blank one removes the value.
      const profile: Partial<Record<ProfileField, string>> = {};
      for (const field of PROFILE_FIELDS) {
        const v = (f[`userparam-${field}`] ?? '').trim();
        if (v) profile[field] = v;
      }
      target.profile = profile;
      return redirect(`/admin/users/viewuser.action?username=${encodeURIComponent(target.username)}`);
    });
}
