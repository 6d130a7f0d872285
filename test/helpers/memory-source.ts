// An in-memory identity provider for engine tests: a named dataset of SourceUser records
// that a test edits between runs, with switches to fail the listing part-way, and a change feed
// (`changes`) like Graph's delta: every edit made through the dataset's methods is logged, a
// checkpoint is a position in that log, and checkpoints can be made to expire.
import { z } from 'zod';
import type { ChangePage, ManagerRef, RemovalReason, SourceConnector, SourceUser } from '../../src/core/types.ts';
import { IdsyncError } from '../../src/core/errors.ts';
import { registerSourceType } from '../../src/sources/registry.ts';
import { sourceBaseSchema, type MappingRuleConfig } from '../../src/config/schema.ts';

/**
 * The account rules most engine tests map a memory dataset with: username from the UPN, display
 * name and mail, always written, an empty value keeping what the target has.
 */
export const ACCOUNT_MAPPING: MappingRuleConfig[] = [
  { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
];

type LogEntry = { id: string; removed?: RemovalReason };

export interface MemoryDataset {
  users: SourceUser[];
  pageSize: number;
  /** Throw after this many pages have been returned (simulates a provider failure). */
  failAfterPages?: number;
  /** How many times listUsers was called. */
  listCalls: number;
  /** How many times changes was called, and with which checkpoints. */
  changeCalls: Array<string | null>;
  /** A provider without a change feed: the connector has no `changes` (set before the run). */
  noChangeFeed?: boolean;
  /** Refuse every checkpoint given (CHECKPOINT_EXPIRED), as Graph does after 7 days. */
  expireCheckpoints?: boolean;
  /** The change log: one entry per edit made with the methods below. */
  log: LogEntry[];
  /** Replaces (or adds) a user and logs the change. */
  upsert(u: SourceUser): void;
  /** Edits a user's attributes and logs the change. */
  edit(id: string, attrs: Record<string, unknown>): void;
  /** Removes a user and logs the removal with its reason. */
  remove(id: string, reason: RemovalReason): void;
}

const datasets = new Map<string, MemoryDataset>();

export function memoryDataset(name: string, users: SourceUser[], pageSize = 3): MemoryDataset {
  const ds: MemoryDataset = {
    users,
    pageSize,
    listCalls: 0,
    changeCalls: [],
    log: [],
    upsert(u) {
      const i = this.users.findIndex((x) => x.id === u.id);
      if (i >= 0) this.users[i] = u;
      else this.users.push(u);
      this.log.push({ id: u.id });
    },
    edit(id, attrs) {
      const u = this.users.find((x) => x.id === id);
      if (!u) throw new Error(`no user ${id}`);
      Object.assign(u.attrs, attrs);
      this.log.push({ id });
    },
    remove(id, reason) {
      this.users = this.users.filter((x) => x.id !== id);
      this.log.push({ id, removed: reason });
    },
  };
  datasets.set(name, ds);
  return ds;
}

const configSchema = sourceBaseSchema.extend({ type: z.literal('memory'), dataset: z.string() });

/** The user as the source contract says: a manager given the old way (in attrs) becomes a ManagerRef. */
function asSourceUser(u: SourceUser): SourceUser {
  const c = structuredClone(u);
  if ('manager' in c.attrs) {
    const m = c.attrs.manager as ({ id: string } & Record<string, unknown>) | null | undefined;
    delete c.attrs.manager;
    if (!c.manager) c.manager = m ? ({ id: m.id, attrs: Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'id')) } satisfies ManagerRef) : null;
  }
  return c;
}

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
    const source: SourceConnector = {
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
          yield { users: d.users.slice(i, i + d.pageSize).map(asSourceUser) };
        }
        yield { users: [], complete: true };
      },
      // A checkpoint is `log:<position>`; from none, a seeding round returns everyone (complete).
      async *changes(checkpoint): AsyncIterable<ChangePage> {
        const d = ds();
        d.changeCalls.push(checkpoint);
        const end = d.log.length;
        if (checkpoint === null) {
          for (let i = 0, page = 0; i < d.users.length; i += d.pageSize, page++) {
            if (d.failAfterPages !== undefined && page >= d.failAfterPages) throw new IdsyncError('TRANSIENT', 'Memory IdP answered 503 for /users/delta: injected failure');
            yield { users: d.users.slice(i, i + d.pageSize).map(asSourceUser), removed: [] };
          }
          yield { users: [], removed: [], complete: true, checkpoint: `log:${end}` };
          return;
        }
        const from = /^log:(\d+)$/.exec(checkpoint);
        if (!from || d.expireCheckpoints) throw new IdsyncError('CHECKPOINT_EXPIRED', 'Memory IdP answered 410 for /users/delta: the checkpoint expired (syncStateNotFound)');
        // The latest state of each user changed since the checkpoint, once, as Graph's delta does.
        const last = new Map<string, LogEntry>();
        for (const e of d.log.slice(Number(from[1]), end)) last.set(e.id, e);
        const entries = [...last.values()];
        for (let i = 0, page = 0; i < entries.length || page === 0; i += d.pageSize, page++) {
          if (d.failAfterPages !== undefined && page >= d.failAfterPages) throw new IdsyncError('TRANSIENT', 'Memory IdP answered 503 for /users/delta: injected failure');
          const part = entries.slice(i, i + d.pageSize);
          const users = part.filter((e) => !e.removed).map((e) => d.users.find((u) => u.id === e.id)).filter((u): u is SourceUser => !!u).map(asSourceUser);
          const removed = part.filter((e) => e.removed).map((e) => ({ id: e.id, reason: e.removed! }));
          const lastPage = i + d.pageSize >= entries.length;
          yield lastPage ? { users, removed, checkpoint: `log:${end}` } : { users, removed };
        }
      },
      async getUser(ref) {
        const u = ds().users.find((x) => x.id === ref || x.attrs.userPrincipalName === ref || x.attrs.mail === ref);
        return u ? asSourceUser(u) : null;
      },
    };
    if (datasets.get(config.dataset)?.noChangeFeed) delete source.changes;
    return source;
  },
});

/** A memory user; `manager`: the manager's id and what the source reads along with it. */
export function person(id: string, name: string, extra: Record<string, unknown> = {}, groups: string[] = [], manager: ManagerRef | null = null): SourceUser {
  const login = name.toLowerCase().replace(/[^a-z]+/g, '.');
  return {
    id,
    attrs: { displayName: name, userPrincipalName: `${login}@contoso.com`, mail: `${login}@contoso.com`, accountEnabled: true, ...extra },
    groups,
    manager,
  };
}
