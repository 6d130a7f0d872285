// Okta's error body: every API error is `{errorCode, errorSummary, errorLink, errorId, errorCauses}`
// (developer.okta.com/docs/reference/error-codes). errorLink repeats the code, errorId is a
// fresh id per answer that Okta support can look up.
import { randomBytes } from 'node:crypto';
import type { EmulatorResponse } from '../common/server.ts';

export interface OktaErrorBody {
  errorCode: string;
  errorSummary: string;
  errorLink: string;
  errorId: string;
  errorCauses: Array<{ errorSummary: string }>;
}

export function oktaErrorBody(code: string, summary: string, causes: string[] = []): OktaErrorBody {
  return { errorCode: code, errorSummary: summary, errorLink: code, errorId: `oae${randomBytes(11).toString('base64url').slice(0, 19)}`, errorCauses: causes.map((errorSummary) => ({ errorSummary })) };
}

export function oktaError(status: number, code: string, summary: string, causes: string[] = []): EmulatorResponse {
  return { status, body: oktaErrorBody(code, summary, causes) };
}

export const E = {
  invalidToken: () => oktaError(401, 'E0000011', 'Invalid token provided'),
  forbidden: () => oktaError(403, 'E0000006', 'You do not have permission to perform the requested action'),
  notFound: (what: string) => oktaError(404, 'E0000007', `Not found: Resource not found: ${what} (User)`),
  invalidSearch: (detail: string) => oktaError(400, 'E0000031', 'Invalid search criteria.', [detail]),
  rateLimited: () => oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.'),
};

/** The body for a status the shared server answers itself (injected faults, unknown routes). */
export function oktaErrorForStatus(status: number, message: string): OktaErrorBody {
  if (status === 429) return oktaErrorBody('E0000047', 'API call exceeded rate limit due to too many requests.');
  if (status === 404) return oktaErrorBody('E0000022', `The endpoint does not support the provided HTTP method or was not found: ${message}`);
  if (status === 405) return oktaErrorBody('E0000022', 'The endpoint does not support the provided HTTP method');
  if (status >= 500) return oktaErrorBody('E0000009', `Internal Server Error (${message})`);
  return oktaErrorBody('E0000001', `Api validation failed: ${message}`);
}
