// Google's error bodies read, and the common set-up mistakes turned into messages an
// administrator can act on. Nothing here prints the key: only Google's own description, the
// service account's e-mail and client id, and the subject.
import { IdsyncError } from '../../core/errors.ts';

export const SCOPES = {
  users: 'https://www.googleapis.com/auth/admin.directory.user.readonly',
  groups: 'https://www.googleapis.com/auth/admin.directory.group.readonly',
} as const;

const DELEGATION_PATH = 'Admin console > Security > Access and data control > API controls > Manage Domain Wide Delegation';

interface ApiErrorBody {
  error?: { code?: number; message?: string; errors?: Array<{ reason?: string; message?: string }>; status?: string } | string;
  error_description?: string;
}

/** The reason of a Directory API error (`rateLimitExceeded`, `forbidden`, …). */
export function reasonOf(body: unknown): string | undefined {
  const e = (body as ApiErrorBody | undefined)?.error;
  return typeof e === 'object' ? e?.errors?.[0]?.reason : undefined;
}

/** One readable sentence from `{error:{message,errors:[{reason}]}}` or `{error, error_description}`. */
export function googleErrorMessage(_status: number, body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? body.slice(0, 300) : undefined;
  const b = body as ApiErrorBody;
  if (typeof b.error === 'object' && b.error) {
    const reason = b.error.errors?.[0]?.reason;
    return [b.error.message, reason ? `(${reason})` : undefined].filter(Boolean).join(' ') || undefined;
  }
  if (typeof b.error_description === 'string') return `${b.error ?? 'error'}: ${b.error_description}`;
  return typeof b.error === 'string' ? b.error : undefined;
}

export interface SignInContext {
  clientEmail: string;
  clientId: string;
  subject: string;
  scopes: string[];
}

/** A refused token request: which setting is wrong and where to fix it. */
export function tokenError(status: number, body: unknown, c: SignInContext): IdsyncError {
  const b = (body && typeof body === 'object' ? body : {}) as { error?: string; error_description?: string };
  const detail = b.error_description ? `${b.error}: ${b.error_description}` : (b.error ?? `HTTP ${status}`);
  const fail = (code: 'AUTH' | 'CONFIG', message: string, hint: string) => new IdsyncError(code, `Google sign-in failed: ${message} (${detail})`, { status, hint });
  const description = b.error_description ?? '';
  if (b.error === 'unauthorized_client') {
    return fail('AUTH', `domain-wide delegation is not granted to the service account ${c.clientEmail} for ${c.scopes.join(' ')}`, `in ${DELEGATION_PATH}, add client ID ${c.clientId} with the scopes ${c.scopes.join(',')} (it can take a few minutes, rarely up to 24 hours, to apply)`);
  }
  if (/Invalid email or User ID/i.test(description)) {
    return fail('CONFIG', `the subject ${c.subject} is not a user of the Google Workspace account`, 'set subject to the e-mail address of an administrator of the account');
  }
  if (/Invalid JWT Signature/i.test(description)) {
    return fail('AUTH', `the key was refused: it is not (or no longer) a key of ${c.clientEmail}`, 'create a new JSON key (Cloud console > IAM & Admin > Service accounts > Keys) and store it as the service account key');
  }
  if (/account not found/i.test(description)) {
    return fail('AUTH', `the service account ${c.clientEmail} does not exist (deleted, or the key belongs to another project)`, 'create the service account again, grant it domain-wide delegation and store its new JSON key');
  }
  if (b.error === 'invalid_scope') return fail('CONFIG', 'the scopes were refused', `delegate ${c.scopes.join(',')}`);
  return fail(status >= 500 ? 'AUTH' : 'AUTH', 'the token request was refused', 'check the service account key, the subject and the domain-wide delegation');
}

/** Sharpens Directory API 403s into "what is missing". */
export function explainApiError(e: unknown, what: string, c: { subject: string; scope: string; clientId: string }): unknown {
  if (!(e instanceof IdsyncError) || e.status !== 403) return e;
  if (/insufficientPermissions|insufficient authentication scopes/i.test(e.message)) {
    return new IdsyncError('AUTH', `Google refused to ${what}: the token lacks the scope ${c.scope} (${e.message})`, { status: 403, hint: `in ${DELEGATION_PATH}, add ${c.scope} to client ID ${c.clientId}`, cause: e });
  }
  if (/forbidden|Not Authorized/i.test(e.message)) {
    return new IdsyncError('AUTH', `Google refused to ${what} as ${c.subject}: that user is not an administrator with the right to read users and groups (${e.message})`, { status: 403, hint: 'set subject to a super administrator, or give that user an admin role with Users > Read and Groups > Read', cause: e });
  }
  return e;
}
