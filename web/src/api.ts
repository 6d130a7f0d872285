// The UI's only way to the server: JSON over /api/v1 with the session cookie, and the CSRF
// token (from the idsync_csrf cookie) on every request that changes something.
export interface Issue {
  path: Array<string | number>;
  message: string;
  position?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: Issue[] = [],
    readonly body: any = undefined,
  ) {
    super(message);
  }
}

function csrfToken(): string {
  const m = /(?:^|;\s*)idsync_csrf=([^;]+)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]!) : '';
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'idsync cannot be reached; check that the server is running');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/auth/login') window.dispatchEvent(new Event('idsync:logged-out'));
    throw new ApiError(res.status, data?.error ?? `the server answered ${res.status}`, data?.issues ?? [], data);
  }
  return data as T;
}

export const get = <T = any>(path: string) => api<T>('GET', path);
export const post = <T = any>(path: string, body: unknown = {}) => api<T>('POST', path, body);
export const put = <T = any>(path: string, body: unknown) => api<T>('PUT', path, body);
export const del = <T = any>(path: string) => api<T>('DELETE', path);

export interface User {
  id: string;
  username: string;
  role: 'administrator' | 'viewer';
}

export interface RunRecord {
  id: string;
  connectorId: string;
  kind: 'full' | 'user' | 'incremental' | 'cleanup' | 'push';
  dryRun: boolean;
  trigger: string;
  status: 'running' | 'succeeded' | 'failed' | 'partial';
  userRef: string | null;
  startedAt: string;
  finishedAt: string | null;
  counts: Record<string, number>;
  error: string | null;
  /** Set when the run held its cleanup back (see the Quarantine page). */
  quarantine?: { id: string; reason: string; message: string; affected: number } | null;
  notice?: string | null;
}

export interface Progress {
  phase: string;
  read: number;
  planned: number;
  written: number;
  failed: number;
}

export interface Active {
  kind: 'full' | 'user' | 'incremental' | 'push';
  dryRun: boolean;
  trigger: string;
  userRef?: string;
  startedAt: string;
  progress: Progress;
}

export interface Rule {
  target: string;
  source: string;
  default?: unknown;
  flow: 'always' | 'onCreate' | 'ifEmpty';
  whenEmpty: 'keep' | 'clear';
}

export interface TargetField {
  name: string;
  type: string;
  label: string;
  description?: string;
  requiredOnCreate?: boolean;
}

export interface TargetType {
  type: string;
  label: string;
  available: boolean;
  secretFields: string[];
  capabilities?: { kind: string; fields: TargetField[]; unsupported?: Array<{ name: string; reason: string }>; canCreateUsers: boolean };
  configSchema?: any;
  error?: string;
}

export interface SourceType {
  type: string;
  label: string;
  available: boolean;
  secretFields: string[];
  knownAttributes: Array<{ path: string; type: string; description?: string }>;
  /** The mapping a new connector of this type starts with. */
  defaultMapping?: Rule[];
  configSchema?: any;
  error?: string;
}

export { fmtTime } from './values';
