// Secrets in connector settings are write-only through the API. Stored configurations hold only
// references ({stored: name} | {env} | {file}); on the way out a stored reference becomes
// {"set": true}; on the way in the browser sends {"set": true} to keep a value, {"replace": "..."}
// to enter a new one, {env}/{file} to reference one, or nothing to remove it. An {env}/{file}
// reference is taken only when the operator allows it or it is the one already stored at that
// place (see secret-ref-policy.ts).
import type { ConnectorConfig } from '../config/schema.ts';
import { allowsRef, isEnvOrFileRef, refusedRefMessage, sameRef, type SecretRefPolicy } from './secret-ref-policy.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStoredRef = (v: unknown): v is { stored: string } => isObj(v) && Object.keys(v).length === 1 && typeof v.stored === 'string';
const isKeep = (v: unknown): boolean => isObj(v) && v.set === true && Object.keys(v).length === 1;
const isReplace = (v: unknown): v is { replace: string } => isObj(v) && typeof v.replace === 'string' && Object.keys(v).length === 1;

/** The configuration as the API shows it: stored secrets appear as {"set": true}. */
export function redactConnector(config: ConnectorConfig): Obj {
  return walk(config, (v) => (isStoredRef(v) ? { set: true } : undefined)) as Obj;
}

function walk(v: unknown, replace: (v: unknown, path: string[]) => unknown, path: string[] = []): unknown {
  const r = replace(v, path);
  if (r !== undefined) return r;
  if (Array.isArray(v)) return v.map((x, i) => walk(x, replace, [...path, String(i)]));
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, replace, [...path, k])]));
  return v;
}

/** Where a secret at a config path is stored: by target id rather than index, so reordering keeps it. */
function secretName(config: Obj, path: string[]): string {
  if (path[0] === 'targets') {
    const target = (config.targets as Obj[] | undefined)?.[Number(path[1])];
    return ['target', String(target?.id ?? path[1]), ...path.slice(2)].join('.');
  }
  return path.join('.');
}

/** The stored reference currently at the same logical place (target matched by id). */
function existingAt(existing: ConnectorConfig | undefined, input: Obj, path: string[]): unknown {
  if (!existing) return undefined;
  let cur: unknown = existing;
  let start = 0;
  if (path[0] === 'targets') {
    const id = (input.targets as Obj[] | undefined)?.[Number(path[1])]?.id;
    cur = existing.targets.find((t) => t.id === id);
    start = 2;
  }
  for (const p of path.slice(start)) cur = isObj(cur) || Array.isArray(cur) ? (cur as Obj)[p] : undefined;
  return cur;
}

export interface SecretInputResult {
  /** The configuration with only references in it. */
  config: Obj;
  /** Stored secrets to set (string) or delete (null). */
  secrets: Record<string, string | null>;
  /** Places where {"set": true} was sent but nothing is stored. */
  missing: string[][];
  /** {env}/{file} references the API may not set, with why. */
  refused: Array<{ path: string[]; message: string }>;
}

/**
 * The {env}/{file} references in `input` that are neither allowed by the operator's policy nor
 * the same as the one already stored at that place (so a connector imported from the operator's
 * YAML file can still be saved from the UI unchanged).
 */
export function refusedSecretRefs(input: Obj, existing: ConnectorConfig | undefined, policy: SecretRefPolicy): SecretInputResult['refused'] {
  const refused: SecretInputResult['refused'] = [];
  walk(input, (v, path) => {
    if (!isEnvOrFileRef(v)) return undefined;
    if (!allowsRef(policy, v) && !sameRef(existingAt(existing, input, path), v)) refused.push({ path, message: refusedRefMessage(v) });
    return v;
  });
  return refused;
}

/**
 * Turns a configuration as sent by the API into one with references only, and the list of
 * stored secrets to write. Secrets stored before but no longer referenced are deleted.
 */
export function applySecretInput(input: Obj, existing: { config: ConnectorConfig; secretNames: string[] } | undefined, policy: SecretRefPolicy): SecretInputResult {
  const secrets: Record<string, string | null> = {};
  const missing: string[][] = [];
  const config = walk(input, (v, path) => {
    if (isReplace(v)) {
      const name = secretName(input, path);
      secrets[name] = v.replace;
      return { stored: name };
    }
    if (isKeep(v)) {
      const prior = existingAt(existing?.config, input, path);
      if (isStoredRef(prior)) return { stored: prior.stored };
      missing.push(path);
      return v;
    }
    // A stored reference may only name a secret this connector already has: no pointing at others.
    if (isStoredRef(v)) {
      if (existing?.secretNames.includes(v.stored)) return v;
      missing.push(path);
      return v;
    }
    return undefined;
  }) as Obj;
  const referenced = new Set<string>();
  walk(config, (v) => {
    if (isStoredRef(v)) referenced.add(v.stored);
    return undefined;
  });
  for (const name of existing?.secretNames ?? []) {
    if (!referenced.has(name) && !(name in secrets)) secrets[name] = null;
  }
  return { config, secrets, missing, refused: refusedSecretRefs(input, existing?.config, policy) };
}
