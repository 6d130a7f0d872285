// `idsync config export|import`: moves connector configuration between a YAML file and the store.
// An export writes secret references only ({env}, {file}, or {stored: name} for secrets entered
// in the UI), never a secret's value. An import validates every connector before saving any.
import { stringify } from 'yaml';
import { readYaml } from '../config/yaml.ts';
import { configFileSchema, type ConnectorConfig } from '../config/schema.ts';
import { IdsyncError } from '../core/errors.ts';
import type { Store } from '../store/index.ts';
import { refusedSecretRefs } from './connector-secrets.ts';
import { validateConnector } from './connector-validation.ts';
import type { SecretRefPolicy } from './secret-ref-policy.ts';
import type { FieldIssue } from './routes.ts';
import type { Services } from './services.ts';

/** The stored connectors as a configuration document: secret references, never secret values. */
export async function exportConfigData(store: Store): Promise<{ version: 1; connectors: ConnectorConfig[] }> {
  return { version: 1, connectors: (await store.connectors.list()).map((c) => c.config) };
}

export async function exportConfig(store: Store): Promise<string> {
  const header = '# idsync configuration export. Secret values are not included: secrets entered in the UI\n# appear as {stored: NAME} and stay in the store; set them again after importing elsewhere.\n';
  return header + stringify(await exportConfigData(store));
}

export interface ImportResult {
  saved: string[];
  warnings: Array<{ connector: string } & FieldIssue>;
}

/**
 * Validates and saves every connector in `text`. Nothing is saved when any connector is
 * invalid; the error lists each problem with its place. The operator's `idsync config import`
 * may reference any environment variable or file; an import through the REST API passes
 * `secretRefs`, and then only the references that policy allows or that are stored already.
 */
export async function importConfig(store: Store, text: string, services: Pick<Services, 'registry' | 'mapping'>, opts: { secretRefs?: SecretRefPolicy } = {}): Promise<ImportResult> {
  const yaml = readYaml(text, 'the file');
  const lineOf = (path: ReadonlyArray<string | number>) => {
    const at = yaml.positionOf(path);
    return at ? ` (line ${at.line}, column ${at.column})` : '';
  };
  const file = configFileSchema.safeParse(yaml.value);
  if (!file.success) {
    const lines = file.error.issues.map((i) => `${i.path.join('.') || '(file)'}${lineOf(i.path as Array<string | number>)}: ${i.message}`);
    throw new IdsyncError('CONFIG', `the file is not a valid idsync configuration:\n  ${lines.join('\n  ')}`);
  }
  const checked: ConnectorConfig[] = [];
  const problems: string[] = [];
  const warnings: ImportResult['warnings'] = [];
  for (const [index, c] of file.data.connectors.entries()) {
    const existing = await store.connectors.get(c.id);
    const outcome = await validateConnector(c, services);
    problems.push(...outcome.errors.map((e) => `connector ${c.id}: ${e.path.join('.')}${lineOf(['connectors', index, ...e.path])}: ${e.message}`));
    warnings.push(...outcome.warnings.map((w) => ({ connector: c.id, ...w })));
    // A {stored} reference must name a secret this store already holds for that connector.
    for (const name of storedNames(c)) {
      if (!existing?.secretNames.includes(name)) problems.push(`connector ${c.id}: secret "${name}" is not stored here; set it in the UI or use {env: VAR} / {file: PATH}`);
    }
    if (opts.secretRefs) {
      for (const r of refusedSecretRefs(c as unknown as Record<string, unknown>, existing?.config, opts.secretRefs)) problems.push(`connector ${c.id}: ${r.path.join('.')}: ${r.message}`);
    }
    if (outcome.config) checked.push(outcome.config);
  }
  if (problems.length) throw new IdsyncError('CONFIG', `nothing was imported:\n  ${problems.join('\n  ')}`);
  for (const c of checked) await store.connectors.save(c);
  return { saved: checked.map((c) => c.id), warnings };
}

function storedNames(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => storedNames(x, out));
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.stored === 'string' && Object.keys(o).length === 1) out.push(o.stored);
    else Object.values(o).forEach((x) => storedNames(x, out));
  }
  return out;
}
