// Posts a JSON body to a webhook (Slack, Teams, or a receiver of one's own). The URL is a secret:
// Slack's and Teams' URLs carry the token that lets anyone post, so it is read from its reference
// only here, and an error names the host alone, never the path or query. Bounded: a timeout per
// attempt; 5xx, 429 (honouring Retry-After up to a limit) and no answer are tried again a few
// times; any other 4xx is final (the URL or the body is wrong; sending again changes nothing).
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { resolveSecret, type SecretRef } from '../config/secrets.ts';
import { retryAfterMs } from '../core/http.ts';
import type { WebhookChannel } from './config.ts';

export class NotifyError extends Error {
  override name = 'NotifyError';
}

export interface WebhookOptions {
  /** First wait before a retry without Retry-After; doubled each time (default 1 s). */
  baseDelayMs?: number;
  /** Longest Retry-After honoured (default 30 s); a longer one ends the attempts. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

// Not unref'd: a CLI process waiting to retry a notification must not end before it.
const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const refText = (r: SecretRef) => ('env' in r ? `environment variable ${r.env}` : 'file' in r ? `file ${r.file}` : `stored secret ${r.stored}`);

let dispatcher: Dispatcher | undefined;
/** One pool for every webhook; HTTPS_PROXY / HTTP_PROXY / NO_PROXY honoured as the connectors do. */
function pool(): Dispatcher {
  const proxy = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((k) => !!process.env[k]);
  dispatcher ??= proxy ? new EnvHttpProxyAgent({ keepAliveTimeout: 10_000 }) : new Agent({ keepAliveTimeout: 10_000 });
  return dispatcher;
}

/** The parts of a URL that must never appear in a message: the whole, its path and each long path segment or query value. */
function secretParts(url: URL): string[] {
  const parts = [url.href, url.pathname + url.search, url.pathname, url.search, ...url.pathname.split('/'), ...[...url.searchParams.values()]];
  return parts.filter((p) => p.length >= 4).sort((a, b) => b.length - a.length);
}

function scrub(text: string, parts: string[]): string {
  let out = text;
  for (const p of parts) out = out.split(p).join('[redacted]');
  return out.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** Sends `payload` to the channel's URL; resolves when the receiver accepted it (2xx), throws a NotifyError naming only the host otherwise. */
export async function sendWebhook(channel: WebhookChannel, payload: unknown, opts: WebhookOptions = {}): Promise<void> {
  const where = `webhook channel "${channel.name}"`;
  const raw = resolveSecret(channel.url, `${where}: url`).reveal();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new NotifyError(`${where}: the value of ${refText(channel.url)} is not a URL; set it to the webhook URL Slack or Teams gave you`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new NotifyError(`${where}: the URL in ${refText(channel.url)} is not http(s)`);
  const host = url.host;
  const hidden = secretParts(url);
  const body = JSON.stringify(payload);
  const attempts = 1 + channel.retries;
  const sleep = opts.sleep ?? sleepFor;
  const maxRetryAfter = opts.maxRetryAfterMs ?? 30_000;
  let delay = opts.baseDelayMs ?? 1000;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let wait: number | undefined;
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'idsync' },
        body,
        dispatcher: pool(),
        signal: AbortSignal.timeout(channel.timeoutSeconds * 1000),
      });
      const text = await res.body.text().catch(() => '');
      if (res.statusCode >= 200 && res.statusCode < 300) return;
      const said = scrub(text, hidden);
      last = `${host} answered ${res.statusCode}${said ? ` (${said})` : ''}`;
      const retryable = res.statusCode === 429 || res.statusCode >= 500;
      if (!retryable) throw new NotifyError(`${where}: ${last}; check the webhook URL and the channel's format (${channel.format})`);
      wait = retryAfterMs(res.headers['retry-after']);
      if (wait !== undefined && wait > maxRetryAfter) {
        throw new NotifyError(`${where}: ${last} and asked to wait ${Math.ceil(wait / 1000)} s, longer than idsync waits; the notification was not sent`);
      }
    } catch (e) {
      if (e instanceof NotifyError) throw e;
      // No answer: a timeout, a refused or dropped connection, a TLS failure. undici's own
      // messages name the address at most; the code is what a person needs.
      const err = e as { name?: string; code?: string; cause?: { code?: string } };
      const why = err.name === 'TimeoutError' || err.name === 'AbortError' ? `no answer within ${channel.timeoutSeconds} s` : (err.code ?? err.cause?.code ?? 'the request failed');
      last = `could not reach ${host}: ${why}`;
    }
    if (attempt < attempts) {
      await sleep(wait ?? delay);
      delay = Math.min(delay * 2, 10_000);
    }
  }
  throw new NotifyError(`${where}: ${last} (${attempts} attempt${attempts === 1 ? '' : 's'}); the notification was not sent`);
}
