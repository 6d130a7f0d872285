// A bare HTTP client for the emulator's own tests: what Graph answers, status, headers and body
// (JSON when it parses), with the test's bearer token unless the call says otherwise.
import { fetch, type Agent } from 'undici';

export interface RawCallInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** A bearer token other than the test's; null sends none. */
  auth?: string | null;
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/** `call(path)` against the emulator; `path` may be a whole URL (a nextLink). Read lazily, since tests set these up in `before`. */
export function rawCaller(ctx: { url: () => string; agent: () => Agent; token: () => string | undefined }) {
  return async function call(path: string, init: RawCallInit = {}): Promise<RawAnswer> {
    const headers: Record<string, string> = { ...init.headers };
    const auth = init.auth === undefined ? ctx.token() : init.auth;
    if (auth) headers.authorization = `Bearer ${auth}`;
    const res = await fetch(path.startsWith('http') ? path : `${ctx.url()}${path}`, { method: init.method ?? 'GET', headers, body: init.body, dispatcher: ctx.agent() });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers as unknown as Headers, body };
  };
}
