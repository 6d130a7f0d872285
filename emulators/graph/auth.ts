// The Microsoft Entra token endpoint (client credentials), its OpenID metadata, and the
// bearer-token check every Graph call goes through.
//
// Client authentication: a client_secret (form field or HTTP Basic), or a client_assertion
// (certificate JWT). An assertion is verified for real: its header's x5t / x5t#S256 must be
// the thumbprint of a certificate registered for the client, the RS256/PS256 signature must
// verify against that certificate's public key, iss and sub must be the client id, aud the
// token endpoint, and exp/nbf must cover now.
import { createHash, createVerify, constants, randomBytes, X509Certificate, verify as cryptoVerify } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import { decodeJwt } from '../common/jwt.ts';
import { aadError, graphError } from './errors.ts';

export interface GraphClientRegistration {
  clientId: string;
  clientSecret?: string;
  /** PEM certificates whose keys may sign client assertions. */
  certificates?: string[];
  /** Application permissions (roles) granted; default: read access to users, groups and directory. */
  permissions?: string[];
}

export const DEFAULT_PERMISSIONS = ['User.Read.All', 'GroupMember.Read.All', 'Directory.Read.All', 'Application.Read.All', 'CustomSecAttributeAssignment.Read.All'];

export interface IssuedToken {
  clientId: string;
  permissions: Set<string>;
  expiresAt: number;
}

const TOKEN_LIFETIME_S = 3599;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export class TokenService {
  private readonly tokens = new Map<string, IssuedToken>();
  issued = 0;

  constructor(
    private readonly tenantAliases: () => string[],
    private readonly tenantId: () => string,
    private readonly clients: GraphClientRegistration[],
  ) {}

  private knowsTenant(t: string): boolean {
    return this.tenantAliases().some((a) => a.toLowerCase() === t.toLowerCase());
  }

  /** POST /{tenant}/oauth2/v2.0/token */
  token(req: EmulatorRequest): EmulatorResponse {
    const tenant = req.params.tenant!;
    const form = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, string>;
    const correlation = typeof req.headers['client-request-id'] === 'string' ? req.headers['client-request-id'] : undefined;
    if (!this.knowsTenant(tenant)) {
      return aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`, correlation);
    }
    if (form.grant_type !== 'client_credentials') {
      return aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${form.grant_type ?? ''}'.`, correlation);
    }
    let clientId = form.client_id;
    let secret = form.client_secret;
    const basic = /^Basic (.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const [id, sec] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      clientId ??= decodeURIComponent(id ?? '');
      secret ??= decodeURIComponent(sec ?? '');
    }
    if (!clientId) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.", correlation);
    const client = this.clients.find((c) => c.clientId.toLowerCase() === clientId!.toLowerCase());
    if (!client) {
      return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`, correlation);
    }
    const scope = form.scope ?? '';
    if (!/\/\.default$/.test(scope)) {
      return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`, correlation);
    }
    if (form.client_assertion !== undefined) {
      if (form.client_assertion_type !== ASSERTION_TYPE) {
        return aadError(400, 'invalid_request', 700010, `Invalid client_assertion_type; expected '${ASSERTION_TYPE}'.`, correlation);
      }
      const problem = this.verifyAssertion(form.client_assertion, client, `${req.origin}/${tenant}/oauth2/v2.0/token`);
      if (problem) return aadError(401, 'invalid_client', problem.code, problem.message, correlation);
    } else if (secret !== undefined) {
      if (!client.clientSecret || secret !== client.clientSecret) {
        return aadError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${client.clientId}'.`, correlation);
      }
    } else {
      return aadError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", correlation);
    }
    return { status: 200, body: this.issue(client) };
  }

  private issue(client: GraphClientRegistration) {
    const now = Math.floor(Date.now() / 1000);
    const permissions = client.permissions ?? DEFAULT_PERMISSIONS;
    // JWT-shaped so tools that peek at claims work; validity is decided by the token table.
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const accessToken = [
      b64({ typ: 'JWT', alg: 'RS256', kid: 'emulator' }),
      b64({ aud: 'https://graph.microsoft.com', iss: `https://sts.windows.net/${this.tenantId()}/`, iat: now, nbf: now, exp: now + TOKEN_LIFETIME_S, appid: client.clientId, tid: this.tenantId(), roles: permissions }),
      randomBytes(32).toString('base64url'),
    ].join('.');
    this.tokens.set(accessToken, { clientId: client.clientId, permissions: new Set(permissions), expiresAt: Date.now() + TOKEN_LIFETIME_S * 1000 });
    this.issued++;
    return { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S, ext_expires_in: TOKEN_LIFETIME_S, access_token: accessToken };
  }

  private verifyAssertion(jwt: string, client: GraphClientRegistration, audience: string): { code: number; message: string } | undefined {
    const decoded = decodeJwt(jwt);
    if (!decoded) return { code: 50027, message: 'JWT token is invalid or malformed.' };
    const { header, claims, signed, signature } = decoded;
    const certs = (client.certificates ?? []).map((pem) => new X509Certificate(pem));
    // Every thumbprint the header names must be the same registered certificate's.
    const sha1 = typeof header.x5t === 'string' ? header.x5t : undefined;
    const sha256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
    const cert = certs.find((c) => {
      const der = c.raw;
      return (sha1 !== undefined || sha256 !== undefined) &&
        (sha1 === undefined || sha1 === createHash('sha1').update(der).digest('base64url')) &&
        (sha256 === undefined || sha256 === createHash('sha256').update(der).digest('base64url'));
    });
    if (!cert) {
      return { code: 700027, message: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(header.x5t ?? header['x5t#S256'] ?? '')}']` };
    }
    let valid = false;
    if (header.alg === 'RS256') {
      valid = createVerify('RSA-SHA256').update(signed).verify(cert.publicKey, signature);
    } else if (header.alg === 'PS256') {
      valid = cryptoVerify('sha256', signed, { key: cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
    } else {
      return { code: 5002738, message: `Client assertion algorithm '${String(header.alg)}' is not supported; use RS256 or PS256.` };
    }
    if (!valid) return { code: 700027, message: 'Client assertion failed signature validation.' };
    if (claims.iss !== client.clientId || claims.sub !== client.clientId) {
      return { code: 700023, message: 'Client assertion issuer and subject must both be the client id.' };
    }
    const aud = String(claims.aud ?? '');
    if (aud !== audience && !aud.endsWith('/oauth2/v2.0/token')) {
      return { code: 700212, message: `Client assertion audience claim '${aud}' does not match the token endpoint '${audience}'.` };
    }
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp < now - 300 || (typeof claims.nbf === 'number' && claims.nbf > now + 300)) {
      return { code: 700024, message: 'Client assertion is not within its valid time range.' };
    }
    return undefined;
  }

  /** Checks `Authorization: Bearer …`; returns the token's grant or a Graph 401. */
  authenticate(req: { headers: EmulatorRequest['headers'] }): IssuedToken | EmulatorResponse {
    const clientRequestId = typeof req.headers['client-request-id'] === 'string' ? req.headers['client-request-id'] : undefined;
    const header = String(req.headers.authorization ?? '');
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.', clientRequestId);
    const token = m[1]!.trim();
    if (token.split('.').length !== 3) return graphError(401, 'InvalidAuthenticationToken', 'IDX14100: JWT is not well formed, there are no dots (.).', clientRequestId);
    const grant = this.tokens.get(token);
    if (!grant) return graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.', clientRequestId);
    if (grant.expiresAt <= Date.now()) {
      this.tokens.delete(token);
      return graphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.', clientRequestId);
    }
    return grant;
  }

  /** Control API: make every issued token expired (tests of refresh-on-401). */
  expireAll(): number {
    for (const t of this.tokens.values()) t.expiresAt = 0;
    return this.tokens.size;
  }

  openIdConfiguration(origin: string, tenant: string) {
    const tid = this.tenantId();
    return {
      token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${origin}/${tid}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${origin}/oidc/userinfo`,
      authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${origin}/${tenant}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid'],
      kerberos_endpoint: `${origin}/${tenant}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: new URL(origin).host,
      cloud_graph_host_name: new URL(origin).host,
      msgraph_host: new URL(origin).host,
    };
  }
}

/** Whether a grant holds any of the permissions that allow an operation. */
export function hasAny(grant: IssuedToken, permissions: readonly string[]): boolean {
  return permissions.some((p) => grant.permissions.has(p));
}
