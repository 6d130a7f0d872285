// Reading Microsoft's error bodies and turning the common sign-in failures into messages an
// administrator can act on. Nothing here ever prints a credential: only AAD's own description
// (which never contains the secret), the tenant id and the client id.
import { IdsyncError } from '../../core/errors.ts';

interface AadErrorBody {
  error?: string;
  error_description?: string;
  error_codes?: number[];
}

interface GraphErrorBody {
  error?: { code?: string; message?: string };
}

/** One readable sentence from a Graph (`{error:{code,message}}`) or AAD (`{error, error_description}`) body. */
export function microsoftErrorMessage(_status: number, body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? body.slice(0, 300) : undefined;
  const graph = (body as GraphErrorBody).error;
  if (graph && typeof graph === 'object') return [graph.code, graph.message].filter(Boolean).join(': ') || undefined;
  const aad = body as AadErrorBody;
  if (typeof aad.error_description === 'string') return firstLine(aad.error_description);
  if (typeof aad.error === 'string') return aad.error;
  return undefined;
}

/** AAD descriptions end with "Trace ID: … Correlation ID: … Timestamp: …"; keep the sentence. */
function firstLine(description: string): string {
  return description.split(/\r?\n| Trace ID:/)[0]!.trim();
}

/** Maps a failed token response to CONFIG (wrong setting) or AUTH (rejected credential). */
export function tokenError(status: number, body: unknown, cfg: { tenantId: string; clientId: string }): IdsyncError {
  const aad = (body && typeof body === 'object' ? body : {}) as AadErrorBody;
  const code = aad.error_codes?.[0];
  const detail = typeof aad.error_description === 'string' ? firstLine(aad.error_description) : (aad.error ?? `HTTP ${status}`);
  const fail = (kind: 'AUTH' | 'CONFIG', message: string, hint: string) => new IdsyncError(kind, `Microsoft Entra ID sign-in failed: ${message} (${detail})`, { status, hint });
  switch (code) {
    case 90002:
    case 90072:
      return fail('CONFIG', `tenant '${cfg.tenantId}' was not found`, 'set tenantId to the Directory (tenant) ID shown on the app registration overview, or the tenant domain');
    case 700016:
      return fail('CONFIG', `application '${cfg.clientId}' was not found in tenant '${cfg.tenantId}'`, 'check that clientId is the Application (client) ID and that it belongs to this tenant');
    case 7000215:
      return fail('AUTH', 'the client secret was rejected', "enter the secret's Value (not its Secret ID) from Certificates & secrets, and check it has not been replaced");
    case 7000222:
      return fail('AUTH', 'the client secret has expired', 'create a new client secret on the app registration and update the stored secret');
    case 700027:
    case 700024:
    case 5002738:
    case 50027:
      return fail('AUTH', 'the certificate credential was rejected', 'upload this certificate (public part) to the app registration, and check that the private key and certificate belong together');
    case 7000218:
      return fail('CONFIG', 'no credential was sent', 'configure clientSecret or certificate');
    case 1002012:
    case 70011:
      return fail('CONFIG', 'the requested scope is not valid', 'graphUrl must be the Microsoft Graph root, e.g. https://graph.microsoft.com');
    default:
      return fail(status === 400 ? 'CONFIG' : 'AUTH', aad.error ?? 'the token request was refused', 'check tenantId, clientId and the credential of the app registration');
  }
}

/** Sharpens Graph 403s into "which permission is missing". Other errors pass through. */
export function explainGraphError(e: unknown, what: string, permission: string): unknown {
  if (e instanceof IdsyncError && e.status === 403) {
    return new IdsyncError('AUTH', `Microsoft Graph refused to ${what}: the app lacks permission ${permission} (${e.message})`, {
      status: 403,
      hint: `grant the application permission ${permission} to the app registration and give admin consent`,
      cause: e,
    });
  }
  return e;
}
