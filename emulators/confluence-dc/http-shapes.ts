// Confluence Data Center's wire shapes: the error body every REST resource returns, the
// rate-limit headers of its (opt-in) token-bucket limiter, the user and group entities and the
// start/limit page with `_links.next`.
import { STATUS_CODES } from 'node:http';
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import type { ConfluenceDcUser, ConfluenceDcStore } from './store.ts';

/**
 * `{"statusCode","data":{authorized,valid,allowedInReadOnlyMode,errors,successful},"message","reason"}`:
 * the shape seen from real Confluence DC (e.g. a 404 on /rest/api/content answers
 * `{"statusCode":404,"data":{"authorized":false,"valid":true,"allowedInReadOnlyMode":true,"errors":[],"successful":false},"message":"No space with key : x","reason":"Not Found"}`).
 */
export function dcErrorBody(status: number, message: string, fieldErrors: string[] = []): unknown {
  return {
    statusCode: status,
    data: {
      authorized: status !== 401 && status !== 403,
      valid: fieldErrors.length === 0 && status !== 400,
      allowedInReadOnlyMode: true,
      errors: fieldErrors.map((m) => ({ message: { translation: m, args: [] } })),
      successful: false,
    },
    message,
    reason: STATUS_CODES[status] ?? 'Error',
  };
}

export function dcError(status: number, message: string, fieldErrors?: string[]): EmulatorResponse {
  return { status, body: dcErrorBody(status, message, fieldErrors) };
}

/** Headers Confluence DC 8.x adds to a 429 from its per-user token bucket. */
export function dcRateLimitHeaders(retryAfterSeconds: number): Record<string, string> {
  return {
    'x-ratelimit-limit': '20',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-interval-seconds': String(Math.max(1, retryAfterSeconds)),
    'x-ratelimit-fillrate': '10',
  };
}

export function userJson(req: EmulatorRequest, u: ConfluenceDcUser, expand: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: 'known',
    username: u.username,
    userKey: u.userKey,
    profilePicture: { path: '/images/icons/profilepics/default.svg', width: 48, height: 48, isDefault: true },
    displayName: u.fullName,
    _links: { base: req.origin, context: '', self: `${req.origin}/rest/api/user?key=${u.userKey}` },
    _expandable: { status: '', details: '' },
  };
  if (expand.has('status')) out.status = u.active ? 'Active' : 'Deactivated';
  const personal = expand.has('details.personal');
  const business = expand.has('details.business');
  if (personal || business) {
    const details: Record<string, unknown> = {};
    if (personal) details.personal = { phone: u.profile.phone ?? null, im: u.profile.im ?? null, website: u.profile.website ?? null, email: u.email };
    if (business) details.business = { position: u.profile.position ?? null, department: u.profile.department ?? null, location: u.profile.location ?? null };
    out.details = details;
  }
  return out;
}

export function groupJson(req: EmulatorRequest, name: string): Record<string, unknown> {
  return { type: 'group', name, _links: { self: `${req.origin}/rest/api/group/${encodeURIComponent(name)}` } };
}

export function expandSet(req: EmulatorRequest): Set<string> {
  return new Set(
    (req.query.get('expand') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

export const MAX_LIMIT = 200;

/** Reads start/limit; Confluence silently caps the limit at its system maximum. */
export function paging(req: EmulatorRequest, defaultLimit = MAX_LIMIT): { start: number; limit: number } | EmulatorResponse {
  const start = Number(req.query.get('start') ?? 0);
  const limit = Number(req.query.get('limit') ?? defaultLimit);
  if (!Number.isInteger(start) || start < 0 || !Number.isInteger(limit) || limit < 0) {
    return dcError(400, 'start and limit must be non-negative integers');
  }
  return { start, limit: Math.min(limit, MAX_LIMIT) };
}

/** A page in Confluence's shape; `_links.next` is relative to the context, as Confluence writes it. */
export function page(req: EmulatorRequest, all: unknown[], start: number, limit: number): EmulatorResponse {
  const results = all.slice(start, start + limit);
  const links: Record<string, string> = { base: req.origin, context: '', self: `${req.origin}${req.path}` };
  if (start + results.length < all.length) {
    const q = new URLSearchParams(req.query);
    q.set('start', String(start + results.length));
    q.set('limit', String(limit));
    links.next = `${req.path}?${q.toString()}`;
  }
  return { status: 200, body: { results, start, limit, size: results.length, _links: links } };
}

export function membersPage(req: EmulatorRequest, store: ConfluenceDcStore, keys: string[], start: number, limit: number, expand: Set<string>): EmulatorResponse {
  const slice = keys.slice(start, start + limit).map((k) => userJson(req, store.getByKey(k)!, expand));
  const res = page(req, keys, start, limit);
  (res.body as { results: unknown[] }).results = slice;
  return res;
}
