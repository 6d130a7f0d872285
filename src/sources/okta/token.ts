// Access tokens of an Okta API Services app: OAuth 2.0 client credentials at
// {orgUrl}/oauth2/v1/token, the client authenticated by a private_key_jwt (RFC 7523: a JWT
// signed with the app's private key, iss = sub = client id, aud = the token URL). Tokens are
// cached until five minutes before they expire, or dropped after a 401; concurrent callers
// share one request.
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { HttpClient } from '../../core/http.ts';
import { TokenCache, type IssuedToken } from '../../core/token-cache.ts';
import { IdsyncError } from '../../core/errors.ts';
import type { Secret } from '../../config/secrets.ts';
import { tokenError } from './errors.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface OktaTokenSettings {
  clientId: string;
  scopes: string[];
  keyId?: string;
  /** Resolved lazily so a missing secret is a failed check, not a crash at start. */
  privateKey: () => Secret;
}

export class OktaTokenProvider {
  private readonly cache = new TokenCache(() => this.issue());
  requests = 0;

  constructor(
    private readonly http: HttpClient,
    private readonly settings: OktaTokenSettings,
  ) {}

  get(): Promise<string> {
    return this.cache.get();
  }

  /** Drops the cached token (after a 401). */
  invalidate(): void {
    this.cache.invalidate();
  }

  private async issue(): Promise<IssuedToken> {
    const s = this.settings;
    const url = this.http.resolve('/oauth2/v1/token');
    const form = {
      grant_type: 'client_credentials',
      scope: s.scopes.join(' '),
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: clientAssertion(s, url),
    };
    this.requests++;
    const res = await this.http.send<{ access_token?: string; expires_in?: number }>({ method: 'POST', url, form, accept: [400, 401, 403], retryUnsafe: true });
    if (res.status >= 400) throw tokenError(res.status, res.body, s.clientId);
    const token = res.body?.access_token;
    if (typeof token !== 'string' || !token) throw new IdsyncError('AUTH', 'Okta answered the token request without an access token', { hint: 'check orgUrl is the Okta org URL (https://example.okta.com)' });
    return { token, expiresIn: res.body.expires_in, fallbackS: 3600 };
  }
}

/** The private key as PEM or as the JWK the Okta console offers; a JWK's kid is used when keyId is not set. */
export function readPrivateKey(secret: Secret): { key: KeyObject; kid?: string } {
  const text = secret.reveal().trim();
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as Record<string, unknown>;
      return { key: createPrivateKey({ key: jwk as never, format: 'jwk' }), kid: typeof jwk.kid === 'string' ? jwk.kid : undefined };
    }
    return { key: createPrivateKey(text) };
  } catch {
    throw new IdsyncError('CONFIG', 'the Okta service app private key could not be read', { hint: 'store the private key as PEM (-----BEGIN PRIVATE KEY-----) or as the JSON (JWK) the Okta console shows when it generates the key' });
  }
}

export function clientAssertion(s: OktaTokenSettings, audience: string): string {
  const { key, kid } = readPrivateKey(s.privateKey());
  const alg = key.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256';
  const header: Record<string, string> = { alg, typ: 'JWT' };
  const keyId = s.keyId ?? kid;
  if (keyId) header.kid = keyId;
  const now = Math.floor(Date.now() / 1000);
  const claims = { aud: audience, iss: s.clientId, sub: s.clientId, iat: now, exp: now + 300, jti: randomUUID() };
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(claims)}`;
  const signature = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}
