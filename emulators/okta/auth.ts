// Who may call the emulated Okta org: API tokens (`Authorization: SSWS <token>`, acting with
// the rights of the admin who created them) and OAuth 2.0 service apps (client credentials
// with a private_key_jwt assertion signed by a key registered on the app; access tokens carry
// the granted `okta.*` scopes and are sent as `Authorization: Bearer <token>`).
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import { decodeJwt, type DecodedJwt } from '../common/jwt.ts';
import { E } from './errors.ts';

export type OktaScope = 'okta.users.read' | 'okta.groups.read' | 'okta.schemas.read';

export interface ApiTokenRegistration {
  token: string;
  /** What the token's admin may read: a read-only admin has all three. */
  scopes: OktaScope[];
}

export interface ServiceAppRegistration {
  clientId: string;
  /** Public key (PEM or JWK) registered on the app. */
  publicKey: string | Record<string, unknown>;
  /** `kid` of the registered key; assertions naming another kid are refused. */
  keyId?: string;
  /** Scopes granted to the app (Okta API Scopes tab). */
  granted: OktaScope[];
}

export interface Grant {
  kind: 'ssws' | 'oauth';
  scopes: Set<OktaScope>;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_LIFETIME_S = 3600;

const oauthError = (status: number, error: string, description: string): EmulatorResponse => ({ status, body: { error, error_description: description } });

export class OktaAuth {
  private readonly issued = new Map<string, { scopes: Set<OktaScope>; expiresAt: number }>();
  private readonly seenJti = new Set<string>();
  tokensIssued = 0;

  constructor(
    readonly apiTokens: ApiTokenRegistration[],
    readonly apps: ServiceAppRegistration[],
  ) {}

  /** The caller's grant, or Okta's 401 (E0000011 for an unknown token, E0000005-like for none). */
  authenticate(req: EmulatorRequest): Grant | EmulatorResponse {
    const header = String(req.headers.authorization ?? '');
    const [scheme, value] = [header.slice(0, header.indexOf(' ')).toLowerCase(), header.slice(header.indexOf(' ') + 1).trim()];
    if (scheme === 'ssws') {
      const t = this.apiTokens.find((x) => x.token === value);
      return t ? { kind: 'ssws', scopes: new Set(t.scopes) } : E.invalidToken();
    }
    if (scheme === 'bearer') {
      const t = this.issued.get(value);
      if (!t || t.expiresAt < Date.now()) return E.invalidToken();
      return { kind: 'oauth', scopes: t.scopes };
    }
    return E.invalidToken();
  }

  expireAll(): number {
    const n = this.issued.size;
    this.issued.clear();
    return n;
  }

  /** POST /oauth2/v1/token: client credentials with a private_key_jwt client assertion. */
  token(req: EmulatorRequest): EmulatorResponse {
    const form = (req.body ?? {}) as Record<string, string>;
    if (form.grant_type !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', `The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials].`);
    if (form.client_assertion_type !== ASSERTION_TYPE || !form.client_assertion) return oauthError(401, 'invalid_client', 'Client authentication failed. Either the client or the client credentials are invalid.');
    const jwt = decodeJwt(String(form.client_assertion));
    if (!jwt) return oauthError(401, 'invalid_client', 'The client_assertion token is malformed.');
    const { header, claims } = jwt;
    const app = this.apps.find((a) => a.clientId === claims.iss);
    if (!app || claims.sub !== app.clientId) return oauthError(401, 'invalid_client', 'The client_assertion token has an invalid issuer or subject; both must be the client_id.');
    const audience = `${req.origin}/oauth2/v1/token`;
    if (claims.aud !== audience) return oauthError(401, 'invalid_client', `The audience of the client_assertion must be ${audience}.`);
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp < now) return oauthError(401, 'invalid_client', 'The client_assertion token is expired.');
    if (claims.exp - now > 3600) return oauthError(401, 'invalid_client', 'The client_assertion token has an expiration too far into the future.');
    if (typeof claims.jti === 'string') {
      if (this.seenJti.has(claims.jti)) return oauthError(401, 'invalid_client', 'The client_assertion token has already been used.');
      this.seenJti.add(claims.jti);
    }
    if (app.keyId && header.kid !== undefined && header.kid !== app.keyId) return oauthError(401, 'invalid_client', 'The client_assertion signature is invalid: unknown kid.');
    if (header.alg !== 'RS256' && header.alg !== 'RS384' && header.alg !== 'RS512' && header.alg !== 'ES256') return oauthError(401, 'invalid_client', `The client_assertion algorithm ${String(header.alg)} is not supported.`);
    if (!signatureValid(jwt, String(header.alg), publicKeyOf(app))) return oauthError(401, 'invalid_client', 'The client_assertion signature is invalid.');
    const requested = String(form.scope ?? '').split(/\s+/).filter(Boolean) as OktaScope[];
    if (requested.length === 0) return oauthError(400, 'invalid_scope', 'The authorization server resource does not have any configured default scopes, \'scope\' must be provided.');
    const missing = requested.filter((s) => !app.granted.includes(s));
    if (missing.length) return oauthError(400, 'invalid_scope', `The following scopes were requested, but not granted: ${missing.join(', ')}`);
    const token = randomBytes(24).toString('base64url');
    this.issued.set(token, { scopes: new Set(requested), expiresAt: Date.now() + TOKEN_LIFETIME_S * 1000 });
    this.tokensIssued++;
    return { status: 200, body: { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S, access_token: token, scope: requested.join(' ') } };
  }
}

function publicKeyOf(app: ServiceAppRegistration): KeyObject {
  return typeof app.publicKey === 'string' ? createPublicKey(app.publicKey) : createPublicKey({ key: app.publicKey as never, format: 'jwk' });
}

function signatureValid({ signed, signature }: DecodedJwt, alg: string, key: KeyObject): boolean {
  const hash = alg === 'RS384' ? 'sha384' : alg === 'RS512' ? 'sha512' : 'sha256';
  try {
    return verify(hash, signed, alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
  } catch {
    return false;
  }
}

/** 403 E0000006 unless the grant holds `scope`. */
export function requireScope(grant: Grant, scope: OktaScope): EmulatorResponse | undefined {
  return grant.scopes.has(scope) ? undefined : E.forbidden();
}
