// Access tokens for the Directory API: a service account acting as an administrator
// (domain-wide delegation). idsync signs the assertion itself (RS256 over the JWT, RFC 7523's
// jwt-bearer grant, as Google documents for "server to server" apps), caches the token and
// renews it five minutes before it expires or after a 401; concurrent callers share one request.
import { createPrivateKey, sign } from 'node:crypto';
import type { HttpClient } from '../../core/http.ts';
import { TokenCache, type IssuedToken } from '../../core/token-cache.ts';
import { IdsyncError } from '../../core/errors.ts';
import { tokenError, type SignInContext } from './errors.ts';

export interface ServiceAccountKey {
  client_email: string;
  client_id: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const DEFAULT_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** Reads the JSON key file; says what is wrong without ever quoting it. */
export function parseKey(json: string): ServiceAccountKey {
  let k: Record<string, unknown>;
  try {
    k = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new IdsyncError('CONFIG', 'the service account key is not JSON', { hint: 'store the whole JSON key file downloaded from Cloud console > IAM & Admin > Service accounts > Keys' });
  }
  if (k.type !== 'service_account' || typeof k.client_email !== 'string' || typeof k.private_key !== 'string' || typeof k.client_id !== 'string') {
    throw new IdsyncError('CONFIG', 'the service account key is not a service account JSON key (type service_account, client_email, client_id, private_key)', { hint: 'download a JSON key of the service account (not an OAuth client secret, not a P12 key)' });
  }
  return k as unknown as ServiceAccountKey;
}

export class GoogleTokenProvider {
  private readonly cache = new TokenCache(() => this.issue());
  requests = 0;

  constructor(
    private readonly login: HttpClient,
    private readonly settings: { key: () => ServiceAccountKey; subject: string; scopes: string[]; tokenUrl?: string },
  ) {}

  get(): Promise<string> {
    return this.cache.get();
  }

  /** Drops the cached token (after a 401). */
  invalidate(): void {
    this.cache.invalidate();
  }

  /** Who signs in, for messages. */
  context(): SignInContext {
    const k = this.settings.key();
    return { clientEmail: k.client_email, clientId: k.client_id, subject: this.settings.subject, scopes: this.settings.scopes };
  }

  private async issue(): Promise<IssuedToken> {
    const key = this.settings.key();
    const url = this.settings.tokenUrl ?? key.token_uri ?? DEFAULT_TOKEN_URL;
    const assertion = signAssertion(key, this.settings.subject, this.settings.scopes, url);
    this.requests++;
    const res = await this.login.send<{ access_token?: string; expires_in?: number }>({
      method: 'POST',
      url,
      form: { grant_type: JWT_BEARER, assertion },
      accept: [400, 401, 403],
      retryUnsafe: true,
    });
    if (res.status >= 400) throw tokenError(res.status, res.body, this.context());
    const token = res.body?.access_token;
    if (typeof token !== 'string' || !token) throw new IdsyncError('AUTH', 'Google sign-in answered without an access token', { hint: 'check tokenUrl points at https://oauth2.googleapis.com/token' });
    return { token, expiresIn: res.body.expires_in, fallbackS: 3599 };
  }
}

/** The signed JWT: iss = the service account, sub = the administrator, aud = the token endpoint, one hour at most. */
export function signAssertion(key: ServiceAccountKey, subject: string, scopes: string[], audience: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = { iss: key.client_email, sub: subject, scope: scopes.join(' '), aud: audience, iat: now, exp: now + 3600 };
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(claims)}`;
  let pk;
  try {
    pk = createPrivateKey(key.private_key);
  } catch {
    throw new IdsyncError('CONFIG', `the private key in the service account key of ${key.client_email} could not be read`, { hint: 'store the JSON key file unchanged (its private_key is a PEM with \\n line breaks)' });
  }
  return `${input}.${sign('sha256', Buffer.from(input), pk).toString('base64url')}`;
}
