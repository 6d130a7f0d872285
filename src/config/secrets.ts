// Secrets are referenced, never written inline in a config file: from an environment
// variable, from a file (Docker/Kubernetes secrets), or from the store (entered in the UI,
// kept encrypted). A resolved secret is a Secret object whose JSON and inspect forms are
// redacted, so it cannot leak into logs, run results or API answers by accident.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { z } from 'zod';
import { IdsyncError } from '../core/errors.ts';

export const secretRefSchema = z.union([
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ stored: z.string().min(1) }).strict(),
], { error: 'a secret must be given as {env: VAR}, {file: PATH} or set in the UI; it is never written inline' });
export type SecretRef = z.infer<typeof secretRefSchema>;

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[secret]';
  }
  toJSON(): string {
    return '[secret]';
  }
  [inspect.custom](): string {
    return '[secret]';
  }
}

/** Looks up secrets stored in the database (the UI's "set" secrets). */
export type StoredSecretLookup = (name: string) => string | undefined;

export function resolveSecret(ref: SecretRef, where: string, stored?: StoredSecretLookup): Secret {
  if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined || v === '') {
      throw new IdsyncError('CONFIG', `${where}: environment variable ${ref.env} is not set`, {
        hint: `export ${ref.env}=... before starting idsync`,
      });
    }
    return new Secret(v);
  }
  if ('file' in ref) {
    try {
      return new Secret(readFileSync(ref.file, 'utf8').trim());
    } catch (e) {
      throw new IdsyncError('CONFIG', `${where}: cannot read secret file ${ref.file}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
        hint: 'check the path and that idsync may read it',
      });
    }
  }
  const v = stored?.(ref.stored);
  if (v === undefined) {
    throw new IdsyncError('CONFIG', `${where}: no stored secret named ${ref.stored}`, { hint: 'enter the secret again in the connector settings' });
  }
  return new Secret(v);
}
