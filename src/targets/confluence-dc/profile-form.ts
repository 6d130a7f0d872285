// Writes Confluence DC profile fields (phone, im, website, position, department, location)
// through the administrator's Edit User Details form, the one way an administrator can set
// them for any user without installing an app (see docs/confluence-profile-fields.md):
//   1. log in with the login form            POST /dologin.action          → JSESSIONID cookie
//   2. open a secure administrator session   POST /doauthenticate.action   (websudo, when on)
//   3. read the form                         GET  /admin/users/edituser.action?username=…
//      → current full name, email, `userparam-<field>` values and the XSRF `atl_token`
//   4. post it back                          POST /admin/users/doedituser.action → 302
// The form writes every field it receives and clears blank ones, so step 4 always sends all
// six fields: the current values merged with the changes.
import { IdsyncError } from '../../core/errors.ts';
import type { HttpClient, HttpResponse } from '../../core/http.ts';
import type { Secret } from '../../config/secrets.ts';
import { PROFILE_FIELDS, type ProfileField } from './capabilities.ts';

export interface ProfileFormState {
  atlToken: string;
  /** Hidden user key, when the form identifies the user by it (then `username` is editable). */
  userKey?: string;
  username: string;
  fullName: string;
  email: string;
  profile: Record<ProfileField, string>;
}

const EDIT_PATH = '/admin/users/edituser.action';
const SAVE_PATH = '/admin/users/doedituser.action';

export class ConfluenceProfileForm {
  private cookie: string | undefined;
  /** One login at a time: concurrent writers wait for the same session. */
  private signingIn: Promise<void> | undefined;

  constructor(
    /** A client without REST auth headers and without a request recorder (forms carry the password). */
    private readonly http: HttpClient,
    private readonly login: { username: string; password: Secret },
  ) {}

  async read(username: string): Promise<ProfileFormState | null> {
    const res = await this.withSession(() => this.http.send<string>({ method: 'GET', url: EDIT_PATH, query: { username }, headers: this.headers(), accept: [302, 404] }));
    if (res.status === 404) return null;
    return parseEditForm(String(res.body ?? ''), username);
  }

  /**
   * Sets the given profile fields (null or '' clears), keeps the others as they are, and
   * renames the user when `newUsername` is given (internal directory only).
   */
  async write(username: string, changes: Partial<Record<ProfileField, string | null>>, newUsername?: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const state = await this.read(username);
      if (!state) throw new IdsyncError('NOT_FOUND', `Confluence has no user ${username} to edit`);
      if (newUsername !== undefined && !state.userKey) {
        throw new IdsyncError('BAD_REQUEST', `the Edit User form of ${username} offers no rename`, {
          hint: 'Confluence renames only users of its internal directory; rename the user in the external directory',
        });
      }
      const form: Record<string, string> = {
        atl_token: state.atlToken,
        ...(state.userKey ? { userKey: state.userKey } : {}),
        username: newUsername ?? state.username,
        fullName: state.fullName,
        email: state.email,
        confirm: 'Submit',
      };
      for (const f of PROFILE_FIELDS) form[`userparam-${f}`] = (f in changes ? changes[f] : state.profile[f]) ?? '';
      // The post carries the whole form, so repeating it after a lost answer is harmless.
      const res = await this.http.send<string>({ method: 'POST', url: SAVE_PATH, form, headers: this.headers(), accept: [200, 302, 403], retryUnsafe: true });
      const location = String(res.headers.location ?? '');
      if (res.status === 302 && /viewuser\.action/.test(location)) return;
      // A session that expired, or a token that went stale between read and post: once more.
      const retryable = (res.status === 302 && /login\.action|authenticate\.action/.test(location)) || (res.status === 403 && /XSRF/i.test(String(res.body)));
      if (retryable && attempt === 0) {
        this.cookie = undefined;
        continue;
      }
      if (res.status === 403) {
        throw new IdsyncError('AUTH', `Confluence refused the Edit User form for ${username} (${/XSRF/i.test(String(res.body)) ? 'XSRF token rejected' : 'not permitted'})`, {
          hint: `check that ${this.login.username} is a Confluence administrator`,
        });
      }
      const message = formError(String(res.body ?? '')) ?? `unexpected answer ${res.status}${location ? ` to ${location}` : ''}`;
      throw new IdsyncError('BAD_REQUEST', `Confluence did not save the profile of ${username}: ${message}`);
    }
  }

  /** Checks that the login and the secure administrator session work (for "Test connection"). */
  async check(probeUser: string): Promise<void> {
    const state = await this.read(probeUser);
    if (!state) throw new IdsyncError('NOT_FOUND', `the Edit User form found no user ${probeUser}`);
  }

  private headers(): Record<string, string> {
    return { accept: 'text/html', ...(this.cookie ? { cookie: this.cookie } : {}) };
  }

  /** Runs a form request; signs in and opens websudo when Confluence redirects there. */
  private async withSession(run: () => Promise<HttpResponse<string>>): Promise<HttpResponse<string>> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!this.cookie) await this.signIn();
      const res = await run();
      if (res.status !== 302) return res;
      const location = String(res.headers.location ?? '');
      if (/login\.action/.test(location)) {
        this.cookie = undefined;
      } else if (/authenticate\.action/.test(location)) {
        await this.websudo(location);
      } else {
        throw new IdsyncError('BAD_REQUEST', `Confluence redirected the Edit User form to ${location}`, { hint: 'check the Confluence base URL (context path)' });
      }
    }
    throw new IdsyncError('AUTH', 'Confluence kept asking to log in for the Edit User form', {
      hint: `check the password of ${this.login.username}, and that secure administrator sessions accept it`,
    });
  }

  private signIn(): Promise<void> {
    this.signingIn ??= (async () => {
      const res = await this.http.send<string>({
        method: 'POST',
        url: '/dologin.action',
        form: { os_username: this.login.username, os_password: this.login.password.reveal(), login: 'Log in', os_destination: '/index.action' },
        headers: { accept: 'text/html' },
        accept: [200, 302],
      });
      const cookie = sessionCookie(res.headers['set-cookie']);
      if (res.status !== 302 || !cookie) {
        const reason = String(res.headers['x-seraph-loginreason'] ?? '');
        throw new IdsyncError('AUTH', `Confluence rejected the login of ${this.login.username} for the profile form${reason ? ` (${reason})` : ''}`, {
          hint: 'check the administrator password; after failed logins Confluence may demand a CAPTCHA, which only a browser login clears',
        });
      }
      this.cookie = cookie;
    })().finally(() => (this.signingIn = undefined));
    return this.signingIn;
  }

  private async websudo(location: string): Promise<void> {
    const destination = new URL(location, 'http://x').searchParams.get('destination') ?? '/admin/console.action';
    const page = await this.http.send<string>({ method: 'GET', url: '/authenticate.action', query: { destination }, headers: this.headers(), accept: [200, 302] });
    const token = inputs(String(page.body ?? '')).get('atl_token');
    const res = await this.http.send<string>({
      method: 'POST',
      url: '/doauthenticate.action',
      form: { password: this.login.password.reveal(), authenticate: 'Confirm', destination, ...(token ? { atl_token: token } : {}) },
      headers: this.headers(),
      accept: [200, 302],
    });
    if (res.status !== 302) {
      throw new IdsyncError('AUTH', `Confluence did not open a secure administrator session for ${this.login.username}`, {
        hint: 'check the administrator password (a personal access token cannot confirm websudo)',
      });
    }
  }
}

/** Reads the Edit User form: hidden token, full name, email and the userparam fields. */
export function parseEditForm(html: string, username: string): ProfileFormState {
  const fields = inputs(html);
  const atlToken = fields.get('atl_token') ?? metaToken(html);
  if (!atlToken || !fields.has('fullName')) {
    throw new IdsyncError('BAD_REQUEST', `the Edit User page of ${username} has no form idsync recognises`, {
      hint: 'this Confluence version may lay out the form differently; set profileFields: off and see docs/confluence-profile-fields.md',
    });
  }
  const profile = {} as Record<ProfileField, string>;
  for (const f of PROFILE_FIELDS) profile[f] = fields.get(`userparam-${f}`) ?? '';
  return {
    atlToken,
    userKey: fields.get('userKey') || undefined,
    username: fields.get('username') || username,
    fullName: fields.get('fullName') ?? '',
    email: fields.get('email') ?? '',
    profile,
  };
}

/** name → value of every <input> in a page (enough for Confluence's server-rendered forms). */
export function inputs(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const tag of html.match(/<input\b[^>]*>/gi) ?? []) {
    const name = attr(tag, 'name');
    if (name !== undefined && !out.has(name)) out.set(name, attr(tag, 'value') ?? '');
  }
  return out;
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3] ?? '') : undefined;
}

function metaToken(html: string): string | undefined {
  const m = /<meta\s+name="ajs-atl-token"\s+content="([^"]*)"/i.exec(html);
  return m?.[1];
}

function formError(html: string): string | undefined {
  const m = /class="[^"]*error[^"]*"[^>]*>([\s\S]*?)<\/div>/i.exec(html);
  return m ? decodeEntities(m[1]!.replace(/<[^>]+>/g, '').trim()) : undefined;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (_, e: string) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower] ?? '';
  });
}

function sessionCookie(setCookie: string | string[] | undefined): string | undefined {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const session = all.map((c) => c.split(';')[0]!.trim()).find((c) => c.startsWith('JSESSIONID='));
  return session;
}
