// Every source type idsync knows, loaded on demand so a deployment pays only for what it uses.
// A source module exports `definition: SourceDefinition`.
import type { z } from 'zod';
import type { AttributeInfo, MappingRule, SourceConnector } from '../core/types.ts';
import type { RecordedRequest } from '../core/http.ts';
import type { StoredSecretLookup } from '../config/secrets.ts';
import { IdsyncError } from '../core/errors.ts';
import type { Store } from '../store/index.ts';

export interface ConnectorContext {
  /** Secrets entered in the UI, by stored name. */
  storedSecret?: StoredSecretLookup;
  /** Extra CA (PEM) to trust, e.g. the emulators' certificate. */
  ca?: string;
  /** Observes HTTP requests (benchmarks). */
  recorder?: (r: RecordedRequest) => void;
  /** Shortens retry waits in tests. */
  fastRetries?: boolean;
  /** The store, for sources that answer from what was pushed to idsync (scim). Set by the engine. */
  store?: Store;
  /** The connector the source is created for. Set by buildRuntime. */
  connectorId?: string;
  /** Something the run should tell the administrator while it goes on (e.g. a wait for an API quota). */
  notice?: (message: string) => void;
}

export interface SourceDefinition<C = any> {
  type: string;
  label: string;
  /** Validates this type's settings (including the common ones from sourceBaseSchema). */
  configSchema: z.ZodType<C>;
  /** Dotted paths of settings that hold a SecretRef, e.g. ['clientSecret', 'certificate.privateKey']. */
  secretFields: string[];
  /** Attributes always offered in the mapping editor, before discovery. */
  knownAttributes: AttributeInfo[];
  /**
   * The mapping a new connector of this type starts with in the admin UI. The built-in sources'
   * are in default-mappings.ts (one table); a plugin may set its own here.
   */
  defaultMapping?: MappingRule[];
  /** Whether its connectors implement `changes()` (incremental sync can be scheduled). */
  changeFeed?: boolean;
  create(config: C, ctx: ConnectorContext): SourceConnector;
}

const loaders: Record<string, () => Promise<{ definition: SourceDefinition }>> = {
  entra: () => import('./entra/index.ts'),
  ldap: () => import('./ldap/index.ts'),
  google: () => import('./google/index.ts'),
  okta: () => import('./okta/index.ts'),
  keycloak: () => import('./keycloak/index.ts'),
  onelogin: () => import('./onelogin/index.ts'),
  scim: () => import('./scim/index.ts'),
};

export const sourceTypes = Object.keys(loaders);

/** Adds a source type at run time (plugins, and test doubles in the engine's tests). */
export function registerSourceType(definition: SourceDefinition): void {
  loaders[definition.type] = async () => ({ definition });
  if (!sourceTypes.includes(definition.type)) sourceTypes.push(definition.type);
}

export async function sourceDefinition(type: string): Promise<SourceDefinition> {
  const load = loaders[type];
  if (!load) {
    throw new IdsyncError('CONFIG', `unknown source type "${type}"`, { hint: `use one of: ${sourceTypes.join(', ')}` });
  }
  return (await load()).definition;
}
