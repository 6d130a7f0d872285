// Google API error bodies, as the Directory API and Google's OAuth 2.0 token endpoint shape them:
// the API's `{error:{code,message,errors:[{message,domain,reason}],status}}` envelope and the
// token endpoint's `{error, error_description}`.
import type { EmulatorResponse } from '../common/server.ts';

const STATUS_NAME: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export interface GoogleErrorDetail {
  reason: string;
  message?: string;
  domain?: string;
  location?: string;
  locationType?: string;
}

export function googleErrorBody(code: number, message: string, detail: GoogleErrorDetail) {
  return {
    error: {
      code,
      message,
      errors: [{ message: detail.message ?? message, domain: detail.domain ?? 'global', reason: detail.reason, ...(detail.location ? { location: detail.location, locationType: detail.locationType ?? 'parameter' } : {}) }],
      status: STATUS_NAME[code] ?? 'UNKNOWN',
    },
  };
}

export function googleError(code: number, message: string, detail: GoogleErrorDetail): EmulatorResponse {
  return { status: code, body: googleErrorBody(code, message, detail) };
}

/** For the statuses the common plumbing produces (faults, 429 of the token bucket, unknown routes). */
export function googleErrorForStatus(status: number, message: string) {
  if (status === 429) return googleErrorBody(429, 'Quota exceeded for quota metric \'Queries\' and limit \'Queries per minute per user\' of service \'admin.googleapis.com\'.', { reason: 'rateLimitExceeded' });
  if (status === 404) return googleErrorBody(404, 'Not Found', { reason: 'notFound', message });
  if (status >= 500) return googleErrorBody(status, status === 503 ? 'The service is currently unavailable.' : 'Internal error encountered.', { reason: status === 503 ? 'backendError' : 'internalError', message });
  return googleErrorBody(status, message, { reason: 'badRequest' });
}

export const invalidInput = (message = 'Invalid Input') => googleError(400, message, { reason: 'invalid' });
export const badRequest = () => googleError(400, 'Bad Request', { reason: 'badRequest' });

export const QUOTA = {
  rateLimitExceeded: () => googleError(403, 'Rate Limit Exceeded', { reason: 'rateLimitExceeded', domain: 'usageLimits' }),
  userRateLimitExceeded: () => googleError(403, 'User Rate Limit Exceeded', { reason: 'userRateLimitExceeded', domain: 'usageLimits' }),
  429: () => ({ status: 429, body: googleErrorForStatus(429, '') }),
};

/** The token endpoint's error answer. */
export function oauthError(status: number, error: string, description: string): EmulatorResponse {
  return { status, body: { error, error_description: description } };
}
