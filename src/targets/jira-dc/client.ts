// The HTTP client of a Jira DC target: the shared HttpClient with Jira's auth header and an
// error parser for Jira's envelope `{"errorMessages":[...],"errors":{field: message}}`.
import { HttpClient } from '../../core/http.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { ConnectorContext } from '../../sources/registry.ts';
import type { JiraDcConfig } from './config.ts';

/** One readable sentence out of a Jira error body. */
export function jiraErrorMessage(_status: number, body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? body.slice(0, 300) : undefined;
  const b = body as { errorMessages?: unknown; errors?: unknown; message?: unknown };
  const parts: string[] = [];
  if (Array.isArray(b.errorMessages)) parts.push(...b.errorMessages.filter((m): m is string => typeof m === 'string' && m !== ''));
  if (b.errors && typeof b.errors === 'object') {
    for (const [field, msg] of Object.entries(b.errors as Record<string, unknown>)) parts.push(`${field}: ${String(msg)}`);
  }
  if (!parts.length && typeof b.message === 'string') parts.push(b.message);
  return parts.length ? parts.join('; ') : undefined;
}

export function createJiraDcHttp(config: JiraDcConfig, ctx: ConnectorContext): HttpClient {
  const where = `target ${config.id}`;
  let header: string;
  if (config.auth.type === 'pat') {
    const token = resolveSecret(config.auth.token, `${where}: auth.token`, ctx.storedSecret);
    header = `Bearer ${token.reveal()}`;
  } else {
    const password = resolveSecret(config.auth.password, `${where}: auth.password`, ctx.storedSecret);
    header = `Basic ${Buffer.from(`${config.auth.username}:${password.reveal()}`).toString('base64')}`;
  }
  return new HttpClient({
    service: 'Jira',
    baseUrl: config.url,
    ca: ctx.ca,
    authHeaders: () => ({ authorization: header }),
    errorMessage: jiraErrorMessage,
    connections: Math.max(4, config.concurrency * 2),
    recorder: ctx.recorder,
    retry: ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 10 } : undefined,
  });
}
