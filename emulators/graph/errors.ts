// Microsoft Graph and Microsoft Entra (AAD) error bodies, as the real services shape them.
import { randomUUID } from 'node:crypto';
import type { EmulatorResponse } from '../common/server.ts';

/** `2024-05-01T10:00:00` — Graph prints innerError.date without milliseconds or zone. */
function graphDate(): string {
  return new Date().toISOString().slice(0, 19);
}

export function graphErrorBody(code: string, message: string, clientRequestId?: string) {
  const requestId = randomUUID();
  return {
    error: {
      code,
      message,
      innerError: { date: graphDate(), 'request-id': requestId, 'client-request-id': clientRequestId ?? requestId },
    },
  };
}

export function graphError(status: number, code: string, message: string, clientRequestId?: string): EmulatorResponse {
  return { status, body: graphErrorBody(code, message, clientRequestId) };
}

/** Graph error codes for the statuses the common plumbing produces (faults, 429, unknown routes). */
export function graphErrorForStatus(status: number, message: string) {
  const code =
    status === 429 ? 'TooManyRequests'
    : status === 404 ? 'Request_ResourceNotFound'
    : status === 405 ? 'Request_BadRequest'
    : status === 503 ? 'serviceNotAvailable'
    : status === 504 ? 'gatewayTimeout'
    : status >= 500 ? 'generalException'
    : 'Request_BadRequest';
  const text = status === 429 ? 'Too many requests. Please try again later.' : message;
  return graphErrorBody(code, text);
}

/** Graph's 404 for a missing object or navigation target (`id` may be `manager`). */
export const notFound = (id: string) =>
  graphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);

export const badRequest = (message: string) => graphError(400, 'Request_BadRequest', message);
export const unsupportedQuery = (message: string) => graphError(400, 'Request_UnsupportedQuery', message);
export const accessDenied = () => graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');

/** AAD token endpoint error: `{error, error_description, error_codes, timestamp, trace_id, correlation_id}`. */
export function aadError(status: number, error: string, aadsts: number, description: string, correlationId?: string): EmulatorResponse {
  const traceId = randomUUID();
  const correlation = correlationId ?? randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${correlation} Timestamp: ${timestamp}`,
      error_codes: [aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlation,
      error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
    },
  };
}
