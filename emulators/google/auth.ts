// Google's OAuth 2.0 token endpoint for a service account with domain-wide delegation: the
// JWT bearer grant (RFC 7523), an RS256 assertion signed with the service account's private
// key, `sub` = the user to act as, `scope` = what was granted to the service account's client
// id in the Admin console (Security > API controls > Domain-wide delegation). Each refusal is
// answered as Google answers it ({error, error_description}).
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import { oauthError } from './errors.ts';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const SCOPES = {
  users: 'https://www.googleapis.com/auth/admin.directory.user.readonly',
  groups: 'https://www.googleapis.com/auth/admin.directory.group.readonly',
} as const;
/** Scopes that also allow reading (the read-write ones include the read-only ones). */
const IMPLIES: Record<string, string[]> = {
  'https://www.googleapis.com/auth/admin.directory.user': [SCOPES.users],
  'https://www.googleapis.com/auth/admin.directory.group': [SCOPES.groups],
};

export interface ServiceAccount {
  clientEmail: string;
  clientId: string;
  privateKeyId: string;
  /** PKCS#8 PEM, as in the JSON key file. */
  privateKey: string;
  publicKey: KeyObject;
  /** Scopes granted to clientId for domain-wide delegation; null: delegation not set up. */
  delegatedScopes: string[] | null;
}

/** The JSON key file the Cloud console downloads for a service account. */
export function keyFile(sa: ServiceAccount, tokenUri: string) {
  return {
    type: 'service_account',
    project_id: 'idsync-emulated',
    private_key_id: sa.privateKeyId,
    private_key: sa.privateKey,
    client_email: sa.clientEmail,
    client_id: sa.clientId,
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUri,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    universe_domain: 'googleapis.com',
  };
}

export function newServiceAccount(name: string, delegatedScopes: string[] | null = [SCOPES.users, SCOPES.groups]): ServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    clientEmail: `${name}@idsync-emulated.iam.gserviceaccount.com`,
    clientId: String(100000000000000000000n + BigInt(`0x${randomBytes(7).toString('hex')}`)),
    privateKeyId: randomBytes(20).toString('hex'),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey,
    delegatedScopes,
  };
}

export interface Grant {
  subject: string;
  scopes: Set<string>;
  expiresAt: number;
}

export class GoogleTokens {
  private readonly grants = new Map<string, Grant>();
  issued = 0;

  constructor(
    readonly accounts: ServiceAccount[],
    /** Whether `sub` names a user of the account (Google: "Invalid email or User ID" otherwise). */
    private readonly knownUser: (email: string) => boolean,
  ) {}

  token(req: EmulatorRequest): EmulatorResponse {
    const form = (req.body ?? {}) as Record<string, string>;
    if (form.grant_type !== JWT_BEARER) return oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${form.grant_type ?? ''}`);
    const parts = String(form.assertion ?? '').split('.');
    if (parts.length !== 3) return oauthError(400, 'invalid_request', 'Invalid JWT: missing or malformed assertion.');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      return oauthError(400, 'invalid_request', 'Invalid JWT: the assertion is not base64url-encoded JSON.');
    }
    if (header.alg !== 'RS256') return oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    const account = this.accounts.find((a) => a.clientEmail === claims.iss);
    if (!account) return oauthError(400, 'invalid_grant', 'Invalid grant: account not found');
    const signed = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), account.publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (!signed) return oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    const aud = String(claims.aud ?? '');
    if (aud !== GOOGLE_TOKEN_URL && aud !== `${req.origin}/token`) return oauthError(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || exp - iat > 3600 || exp < now || iat > now + 300) {
      return oauthError(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    const requested = String(claims.scope ?? '').split(/\s+/).filter(Boolean);
    if (requested.length === 0) return oauthError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const subject = typeof claims.sub === 'string' ? claims.sub.toLowerCase() : undefined;
    // Without a subject the service account acts as itself, which the Directory API never accepts.
    if (subject !== undefined) {
      if (!this.knownUser(subject)) return oauthError(400, 'invalid_grant', 'Invalid email or User ID');
      const granted = account.delegatedScopes;
      if (!granted || requested.some((s) => !granted.includes(s))) {
        return oauthError(401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.');
      }
    }
    const scopes = new Set(requested.flatMap((s) => [s, ...(IMPLIES[s] ?? [])]));
    const token = `ya29.emu-${randomBytes(24).toString('base64url')}`;
    this.grants.set(token, { subject: subject ?? account.clientEmail, scopes, expiresAt: Date.now() + 3599_000 });
    this.issued++;
    return { status: 200, body: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
  }

  /** The grant of a request's bearer token, or undefined (missing, unknown or expired). */
  grantOf(req: EmulatorRequest): Grant | undefined | 'missing' {
    const auth = String(req.headers.authorization ?? '');
    if (!auth) return 'missing';
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    const grant = m ? this.grants.get(m[1]!) : undefined;
    return grant && grant.expiresAt > Date.now() ? grant : undefined;
  }

  expireAll(): number {
    const n = this.grants.size;
    this.grants.clear();
    return n;
  }
}
