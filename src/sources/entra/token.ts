// App-only tokens for Microsoft Graph (OAuth 2.0 client credentials), with a client secret or
// a certificate assertion (PS256 JWT with x5t#S256; see clientAssertion). Tokens are
// cached and renewed five minutes before they expire, or at once after Graph answers 401;
// concurrent callers share one request.
import { constants, createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import type { HttpClient } from '../../core/http.ts';
import { TokenCache, type IssuedToken } from '../../core/token-cache.ts';
import { IdsyncError } from '../../core/errors.ts';
import type { Secret } from '../../config/secrets.ts';
import { tokenError } from './errors.ts';

export type Credential =
  | { kind: 'secret'; secret: Secret }
  | { kind: 'certificate'; privateKey: Secret; certificatePem?: string; thumbprintHex?: string };

export interface TokenSettings {
  tenantId: string;
  clientId: string;
  /** Resource root, e.g. https://graph.microsoft.com; the scope is `${resource}/.default`. */
  resource: string;
  /** Resolved lazily so a missing secret shows up as a failed check, not a crash at start. */
  credential: () => Credential;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export class TokenProvider {
  private readonly cache = new TokenCache(() => this.issue());
  /** Token requests sent (tests check caching). */
  requests = 0;

  constructor(
    private readonly login: HttpClient,
    private readonly settings: TokenSettings,
  ) {}

  get(): Promise<string> {
    return this.cache.get();
  }

  /** Drops the cached token (after a 401). */
  invalidate(): void {
    this.cache.invalidate();
  }

  private tokenPath(): string {
    return `/${encodeURIComponent(this.settings.tenantId)}/oauth2/v2.0/token`;
  }

  private async issue(): Promise<IssuedToken> {
    const s = this.settings;
    const form: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: s.clientId,
      scope: `${s.resource.replace(/\/+$/, '')}/.default`,
    };
    const cred = s.credential();
    if (cred.kind === 'secret') form.client_secret = cred.secret.reveal();
    else {
      form.client_assertion_type = ASSERTION_TYPE;
      form.client_assertion = clientAssertion(cred, s.clientId, this.login.resolve(this.tokenPath()));
    }
    this.requests++;
    // Token requests are safe to repeat, so transient failures are retried even though it is a POST.
    const res = await this.login.send<{ access_token?: string; expires_in?: number | string }>({
      method: 'POST',
      url: this.tokenPath(),
      form,
      accept: [400, 401, 403],
      retryUnsafe: true,
    });
    if (res.status >= 400) throw tokenError(res.status, res.body, s);
    const token = res.body?.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new IdsyncError('AUTH', 'Microsoft Entra ID sign-in answered without an access token', { hint: 'check authorityHost points at the Microsoft identity platform' });
    }
    return { token, expiresIn: res.body.expires_in, fallbackS: 3599 };
  }
}

/**
 * A signed JWT proving possession of the certificate's private key (RFC 7523 client
 * authentication). Microsoft's current guidance is PS256 with `x5t#S256` (the certificate's
 * base64url SHA-256 thumbprint); MSAL for Node sends exactly that when it knows the SHA-256
 * thumbprint, and RS256 with `x5t` (SHA-1) when it only knows the SHA-1 one. idsync does the
 * same, and with the certificate itself also adds `x5t` for tenants that still look for it.
 */
export function clientAssertion(cred: Extract<Credential, { kind: 'certificate' }>, clientId: string, audience: string): string {
  const header: Record<string, string> = { typ: 'JWT' };
  const hexThumbprint = cred.thumbprintHex?.replace(/:/g, '');
  if (cred.certificatePem) {
    const der = new X509Certificate(cred.certificatePem).raw;
    header.alg = 'PS256';
    header['x5t#S256'] = createHash('sha256').update(der).digest('base64url');
    header.x5t = createHash('sha1').update(der).digest('base64url');
  } else if (hexThumbprint?.length === 64) {
    header.alg = 'PS256';
    header['x5t#S256'] = Buffer.from(hexThumbprint, 'hex').toString('base64url');
  } else if (hexThumbprint) {
    header.alg = 'RS256';
    header.x5t = Buffer.from(hexThumbprint, 'hex').toString('base64url');
  } else {
    throw new IdsyncError('CONFIG', 'the Entra certificate credential needs the certificate or its thumbprint');
  }
  const now = Math.floor(Date.now() / 1000);
  const claims = { aud: audience, iss: clientId, sub: clientId, jti: randomUUID(), nbf: now, iat: now, exp: now + 600 };
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signingInput = `${enc(header)}.${enc(claims)}`;
  let key;
  try {
    key = createPrivateKey(cred.privateKey.reveal());
  } catch {
    throw new IdsyncError('CONFIG', 'the Entra certificate private key could not be read', { hint: 'store the private key as PEM (-----BEGIN PRIVATE KEY-----), without a passphrase' });
  }
  // PS256: RSASSA-PSS with SHA-256 and a salt as long as the hash (RFC 7518 §3.5).
  const signer = header.alg === 'PS256' ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : key;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), signer).toString('base64url')}`;
}
