// Paging as Graph does it: $top (1..999, default 100), an absolute @odata.nextLink that keeps
// the caller's query and carries an opaque $skiptoken, and @odata.count on the first page.
// The skiptoken holds the offset plus a hash of the query, so a token replayed against a
// different query is refused instead of silently returning the wrong rows.
import { createHash } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import { badRequest } from './errors.ts';

export const MAX_TOP = 999;
export const DEFAULT_TOP = 100;

/** Reads $top; returns a 400 response when out of range. */
export function readTop(req: EmulatorRequest, fallback = DEFAULT_TOP): number | EmulatorResponse {
  const raw = req.query.get('$top');
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TOP) {
    return badRequest(`Invalid page size specified: '${raw}'. Must be between 1 and ${MAX_TOP} inclusive.`);
  }
  return n;
}

export function queryHash(parts: Array<string | null | undefined>): string {
  return createHash('sha1').update(parts.map((p) => p ?? '').join('\u0000')).digest('base64url').slice(0, 12);
}

export function encodeSkipToken(offset: number, hash: string): string {
  // Shaped like Graph's (base64 of a binary blob); only this emulator can read it.
  return Buffer.from(`DSpt\u0002${offset}\u0001${hash}`, 'utf8').toString('base64url');
}

export function decodeSkipToken(token: string, hash: string): number | EmulatorResponse {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const m = /^DSpt\u0002(\d+)\u0001(.+)$/.exec(text);
  if (!m || m[2] !== hash) return badRequest(`Invalid skip token '${token.slice(0, 40)}'.`);
  return Number(m[1]);
}

export interface PageOptions<T> {
  req: EmulatorRequest;
  items: readonly T[];
  top: number;
  hash: string;
  context: string;
  toJson: (item: T) => unknown;
  count?: boolean;
  /** Header values to add (x-ms-resource-unit, request ids). */
  headers?: Record<string, string>;
}

export function page<T>(o: PageOptions<T>): EmulatorResponse {
  const token = o.req.query.get('$skiptoken');
  let offset = 0;
  if (token !== null) {
    const decoded = decodeSkipToken(token, o.hash);
    if (typeof decoded !== 'number') return decoded;
    offset = decoded;
  }
  const end = Math.min(o.items.length, offset + o.top);
  const value = new Array(end - offset);
  for (let i = offset; i < end; i++) value[i - offset] = o.toJson(o.items[i]!);
  const body: Record<string, unknown> = { '@odata.context': o.context };
  if (o.count && token === null) body['@odata.count'] = o.items.length;
  if (end < o.items.length) {
    body['@odata.nextLink'] = nextLink(o.req, encodeSkipToken(end, o.hash));
  }
  body.value = value;
  return { status: 200, headers: o.headers, body };
}

/** The caller's own URL (query kept as sent) with $skiptoken replaced. */
function nextLink(req: EmulatorRequest, token: string): string {
  const [path, query = ''] = req.rawUrl.split('?', 2) as [string, string?];
  const kept = query.split('&').filter((p) => p && !/^(\$|%24)skiptoken=/i.test(p));
  kept.push(`$skiptoken=${token}`);
  return `${req.origin}${path}?${kept.join('&')}`;
}
