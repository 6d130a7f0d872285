// OneLogin's error bodies as one sentence: v1 and the token endpoint answer
// `{status: {error, code, type, message}}`, v2 `{statusCode, name, message}`; and the sign-in
// and permission failures turned into what the administrator must do. Never prints the secret.
import { IdsyncError } from '../../core/errors.ts';

export function oneLoginErrorMessage(_status: number, body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? body.slice(0, 300) : undefined;
  const b = body as { status?: { message?: unknown; type?: unknown }; message?: unknown; name?: unknown };
  if (b.status && typeof b.status === 'object' && typeof b.status.message === 'string') return b.status.message;
  if (typeof b.message === 'string') return typeof b.name === 'string' ? `${b.name}: ${b.message}` : b.message;
  return undefined;
}

export const SCOPE_HINT = 'edit the API credential under Developers > API Credentials: its scope must be "Read users" (or Manage users, Read All, Manage All); an "Authentication Only" credential cannot read users';

/** A refused token request: wrong client id / secret, or a malformed request. */
export function tokenError(status: number, body: unknown, clientId: string): IdsyncError {
  const detail = oneLoginErrorMessage(status, body) ?? `HTTP ${status}`;
  if (status === 401 || status === 403) {
    return new IdsyncError('AUTH', `OneLogin refused the API credential ${clientId} (${detail})`, {
      status,
      hint: 'check the client ID and the stored client secret (Developers > API Credentials), and that the region or API URL is the account\'s',
    });
  }
  return new IdsyncError('CONFIG', `OneLogin refused the token request of ${clientId} (${detail})`, { status, hint: 'check the region or API URL: it must be the account\'s API host' });
}

/** Sharpens 401/403 answers of the API into what to do; other errors pass through. */
export function explainOneLoginError(e: unknown, what: string): unknown {
  if (!(e instanceof IdsyncError)) return e;
  if (e.status === 401 || e.status === 403) {
    return new IdsyncError('AUTH', `OneLogin refused to ${what}: missing permission (${e.message})`, { status: e.status, hint: SCOPE_HINT, cause: e });
  }
  return e;
}
