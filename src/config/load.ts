// Reads an idsync YAML configuration file. Secrets in it are references ({env: VAR} or
// {file: PATH}); a relative secret file path is taken relative to the configuration file.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { IdsyncError } from '../core/errors.ts';
import { configFileSchema, type ConfigFile, type ConnectorConfig } from './schema.ts';
import { ConfigError, pathKeys, validateConnector, zodIssues, type ConfigIssue } from './validate.ts';
import { readYaml } from './yaml.ts';
import { resolveNotificationPaths } from '../notify/load.ts';

export async function loadConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IdsyncError('CONFIG', `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      hint: 'pass the path of your idsync.yaml with --config',
    });
  }
  const yaml = readYaml(text, path);
  /** The issues with their line and column in the file; `under` is where their paths start. */
  const placed = (issues: ConfigIssue[], under: Array<string | number> = []) => issues.map((x) => ({ ...x, ...yaml.positionOf([...under, ...pathKeys(x.path)]) }));
  const parsed = configFileSchema.safeParse(yaml.value);
  if (!parsed.success) throw new ConfigError(path, placed(zodIssues(parsed.error)));
  const base = dirname(resolve(path));
  const connectors: ConnectorConfig[] = [];
  for (const [i, c] of parsed.data.connectors.entries()) {
    const withPaths = resolveSecretFiles(c, base) as ConnectorConfig;
    const { config, issues } = await validateConnector(withPaths);
    const errors = issues.filter((x) => x.severity === 'error');
    if (!config || errors.length > 0) {
      const error = new ConfigError(`${path}: connectors[${i}] (${c.id})`, placed(issues, ['connectors', i]));
      error.targetIds = c.targets.map((t) => t.id);
      throw error;
    }
    connectors.push(config);
  }
  const ids = connectors.map((c) => c.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new IdsyncError('CONFIG', `${path}: connector id "${dup}" is defined twice`);
  // The notifications block is checked by the file's schema above; its file paths are the file's.
  return { version: 1, connectors, ...(parsed.data.notifications ? { notifications: resolveNotificationPaths(parsed.data.notifications, base) } : {}) };
}

export function findConnector(file: ConfigFile, id: string | undefined, path: string): ConnectorConfig {
  if (!id) {
    if (file.connectors.length === 1) return file.connectors[0]!;
    throw new IdsyncError('CONFIG', `${path} defines ${file.connectors.length} connectors`, {
      hint: `choose one with --connector (${file.connectors.map((c) => c.id).join(', ')})`,
    });
  }
  const c = file.connectors.find((x) => x.id === id);
  if (!c) {
    throw new IdsyncError('CONFIG', `no connector "${id}" in ${path}`, { hint: `defined: ${file.connectors.map((x) => x.id).join(', ')}` });
  }
  return c;
}

function resolveSecretFiles(value: unknown, base: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveSecretFiles(v, base));
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === 'file' && typeof obj.file === 'string') {
      return { file: isAbsolute(obj.file) ? obj.file : resolve(base, obj.file) };
    }
    return Object.fromEntries(keys.map((k) => [k, resolveSecretFiles(obj[k], base)]));
  }
  return value;
}
