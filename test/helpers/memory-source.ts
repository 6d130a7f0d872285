// An in-memory identity provider for engine tests: a named dataset of SourceUser records
// that a test edits between runs, with switches to fail the listing part-way.
import { z } from 'zod';
import type { SourceConnector, SourceUser } from '../../src/core/types.ts';
import { IdsyncError } from '../../src/core/errors.ts';
import { registerSourceType } from '../../src/sources/registry.ts';
import { sourceBaseSchema } from '../../src/config/schema.ts';

export interface MemoryDataset {
  users: SourceUser[];
  pageSize: number;
  /** Throw after this many pages have been returned (simulates a provider failure). */
  failAfterPages?: number;
  /** How many times listUsers was called. */
  listCalls: number;
}

const datasets = new Map<string, MemoryDataset>();

export function memoryDataset(name: string, users: SourceUser[], pageSize = 3): MemoryDataset {
  const ds: MemoryDataset = { users, pageSize, listCalls: 0 };
  datasets.set(name, ds);
  return ds;
}

const configSchema = sourceBaseSchema.extend({ type: z.literal('memory'), dataset: z.string() });

registerSourceType({
  type: 'memory',
  label: 'In-memory test source',
  configSchema,
  secretFields: [],
  knownAttributes: [],
  create(config: z.infer<typeof configSchema>): SourceConnector {
    const ds = () => {
      const d = datasets.get(config.dataset);
      if (!d) throw new Error(`no dataset ${config.dataset}`);
      return d;
    };
    const copy = (u: SourceUser): SourceUser => structuredClone(u);
    return {
      kind: 'memory',
      async test() {
        return { ok: true, checks: [{ name: 'memory', ok: true, message: 'ok' }] };
      },
      async attributes() {
        return [];
      },
      async *listUsers() {
        const d = ds();
        d.listCalls++;
        for (let i = 0, page = 0; i < d.users.length; i += d.pageSize, page++) {
          if (d.failAfterPages !== undefined && page >= d.failAfterPages) {
            throw new IdsyncError('TRANSIENT', 'Memory IdP answered 503 for /users: injected failure');
          }
          yield { users: d.users.slice(i, i + d.pageSize).map(copy) };
        }
        yield { users: [], complete: true };
      },
      async getUser(ref) {
        const u = ds().users.find((x) => x.id === ref || x.attrs.userPrincipalName === ref || x.attrs.mail === ref);
        return u ? copy(u) : null;
      },
    };
  },
});

export function person(id: string, name: string, extra: Record<string, unknown> = {}, groups: string[] = []): SourceUser {
  const login = name.toLowerCase().replace(/[^a-z]+/g, '.');
  return {
    id,
    attrs: { displayName: name, userPrincipalName: `${login}@contoso.com`, mail: `${login}@contoso.com`, accountEnabled: true, manager: null, ...extra },
    groups,
  };
}
