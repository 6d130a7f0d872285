// Okta's error bodies (`{errorCode, errorSummary, errorCauses}`) and OAuth answers
// (`{error, error_description}`) as one readable sentence, and the sign-in and permission
// failures turned into what the administrator must do. Never prints the token or key.
import { IdsyncError } from '../../core/errors.ts';

interface OktaErrorBody {
  errorCode?: string;
  errorSummary?: string;
  errorCauses?: Array<{ errorSummary?: string }>;
  error?: string;
  error_description?: string;
}

export function oktaErrorMessage(_status: number, body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? body.slice(0, 300) : undefined;
  const b = body as OktaErrorBody;
  if (typeof b.errorCode === 'string') {
    const causes = (b.errorCauses ?? []).map((c) => c.errorSummary).filter(Boolean);
    return `${b.errorCode}: ${b.errorSummary ?? ''}${causes.length ? ` (${causes.join('; ')})` : ''}`.trim();
  }
  if (typeof b.error === 'string') return b.error_description ? `${b.error}: ${b.error_description}` : b.error;
  return undefined;
}

export type CredentialKind = 'apiToken' | 'oauth';

/** Okta's errorCode of an IdsyncError made from an Okta answer (it leads the message). */
function oktaCode(e: IdsyncError): string | undefined {
  return /\b(E\d{7})\b/.exec(e.message)?.[1];
}

/** Sharpens 401/403 answers into what to do; other errors pass through. */
export function explainOktaError(e: unknown, what: string, scope: string, kind: CredentialKind): unknown {
  if (!(e instanceof IdsyncError)) return e;
  if (e.status === 401) {
    return new IdsyncError('AUTH', `Okta refused the ${kind === 'apiToken' ? 'API token' : 'access token'} when asked to ${what} (${e.message})`, {
      status: 401,
      hint:
        kind === 'apiToken'
          ? 'the token is wrong, revoked or expired (Okta revokes tokens unused for 30 days, and those of deactivated admins): create a new one under Security > API > Tokens and update the stored secret'
          : 'the access token was refused: check the app is active and its client credentials grant is enabled',
      cause: e,
    });
  }
  if (e.status === 403) {
    const code = oktaCode(e);
    return new IdsyncError('AUTH', `Okta refused to ${what}: missing permission${code ? ` (${code})` : ''} — ${e.message}`, {
      status: 403,
      hint:
        kind === 'apiToken'
          ? 'the API token acts as the admin who created it: give that admin the Read-only Administrator role (Security > Administrators), or create the token as such an admin'
          : `grant the scope ${scope} on the app's Okta API Scopes tab, add it to the connector's scopes, and give the app an admin role (Read-only Administrator) under its Admin roles tab`,
      cause: e,
    });
  }
  if (e.status === 400 && oktaCode(e) === 'E0000031') {
    return new IdsyncError('CONFIG', `Okta refused the search or filter expression when asked to ${what}: ${e.message}`, {
      status: 400,
      hint: 'check the connector\'s search / filter expression against Okta\'s List all users documentation (filter supports only status, lastUpdated, id, login, email, firstName and lastName)',
      cause: e,
    });
  }
  return e;
}

/** A failed token request as CONFIG (setting) or AUTH (credential refused). */
export function tokenError(status: number, body: unknown, clientId: string): IdsyncError {
  const b = (body && typeof body === 'object' ? body : {}) as OktaErrorBody;
  const detail = b.error_description ?? b.errorSummary ?? b.error ?? `HTTP ${status}`;
  const fail = (kind: 'AUTH' | 'CONFIG', message: string, hint: string) => new IdsyncError(kind, `Okta sign-in of service app ${clientId} failed: ${message} (${detail})`, { status, hint });
  switch (b.error) {
    case 'invalid_client':
      return fail('AUTH', 'the client assertion was refused', 'check clientId, that the app uses "Public key / Private key" client authentication, and that the public key of this private key is registered on the app (keyId must match its KID)');
    case 'invalid_scope':
      return fail('AUTH', 'a requested scope is not granted', "grant the scopes on the app's Okta API Scopes tab (okta.users.read, okta.groups.read), or remove the missing one from the connector's scopes");
    case 'unauthorized_client':
    case 'unsupported_grant_type':
      return fail('CONFIG', 'the app does not allow the client credentials grant', 'create the app as an API Services app (its grant type is Client Credentials)');
    case 'invalid_dpop_proof':
    case 'use_dpop_nonce':
      return fail('CONFIG', 'the app requires DPoP proofs', "turn off 'Require Demonstrating Proof of Possession (DPoP) header in token requests' in the app's General settings");
    default:
      return fail(status === 400 ? 'CONFIG' : 'AUTH', b.error ?? 'the token request was refused', 'check orgUrl, clientId and the private key of the service app');
  }
}
