// Which {env} and {file} secret references the REST API (and so the web UI) may set. Such a
// reference reads the server's own environment or file system: set by an administrator in the
// UI, `{env: IDSYNC_ADMIN_PASSWORD}` or `{file: .../secret.key}` as a target's token would send
// that value to a URL of their choice. They belong to the operator: in the YAML file imported
// with `idsync config import`, or named in an allow-list the operator sets when starting the
// server (IDSYNC_ALLOWED_SECRET_REFS or `idsync serve --allowed-secret-refs`).
import { isAbsolute, resolve, sep } from 'node:path';

export const ALLOWED_SECRET_REFS_ENV = 'IDSYNC_ALLOWED_SECRET_REFS';

export interface SecretRefPolicy {
  /** Environment variable names; an entry ending in `*` allows every name with that prefix. */
  env: string[];
  /** Directories (absolute, normalised); a file reference must lie inside one of them. */
  fileDirs: string[];
}

/** Nothing from the environment or the file system: the default. */
export const NO_SECRET_REFS: SecretRefPolicy = { env: [], fileDirs: [] };

/**
 * Reads the allow-list: comma-separated `env:NAME`, `env:PREFIX_*` and `file:/DIRECTORY`
 * entries, e.g. `env:JIRA_TOKEN,env:IDSYNC_CONNECTOR_*,file:/run/secrets`. Throws a message that
 * says which entry is wrong.
 */
export function parseAllowedSecretRefs(text: string | undefined): SecretRefPolicy {
  const policy: SecretRefPolicy = { env: [], fileDirs: [] };
  for (const entry of (text ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const m = /^(env|file):(.+)$/.exec(entry);
    if (m?.[1] === 'env' && /^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(m[2]!)) policy.env.push(m[2]!);
    else if (m?.[1] === 'file' && isAbsolute(m[2]!)) policy.fileDirs.push(resolve(m[2]!));
    else throw new Error(`${ALLOWED_SECRET_REFS_ENV}: "${entry}" is not env:NAME, env:PREFIX_* or file:/ABSOLUTE/DIRECTORY`);
  }
  return policy;
}

type Ref = { env: string } | { file: string };

export const isEnvOrFileRef = (v: unknown): v is Ref => {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length !== 1) return false;
  const o = v as Record<string, unknown>;
  return typeof o.env === 'string' || typeof o.file === 'string';
};

export function allowsRef(policy: SecretRefPolicy, ref: Ref): boolean {
  if ('env' in ref) return policy.env.some((p) => (p.endsWith('*') ? ref.env.startsWith(p.slice(0, -1)) : ref.env === p));
  // Normalised first, so `/run/secrets/../../etc/shadow` is not inside /run/secrets.
  if (!isAbsolute(ref.file)) return false;
  const file = resolve(ref.file);
  return policy.fileDirs.some((dir) => file.startsWith(dir.endsWith(sep) ? dir : dir + sep));
}

export const sameRef = (a: unknown, b: Ref): boolean =>
  isEnvOrFileRef(a) && ('env' in a ? 'env' in b && a.env === b.env : 'file' in b && a.file === b.file);

/** The answer to a reference the API refused: why, and the two ways to get it. */
export function refusedRefMessage(ref: Ref): string {
  const entry = 'env' in ref ? `env:${ref.env}` : `file:${ref.file.replace(/[/\\][^/\\]*$/, '') || '/'}`;
  return (
    `environment and file references can only be set in the operator's YAML file (idsync config import) or allowed with ${ALLOWED_SECRET_REFS_ENV}=${entry}` +
    '; or enter the secret itself here (it is stored encrypted)'
  );
}
