// `--seed-direct`: the state an initial sync leaves, without the initial sync's million requests.
// An initial sync through the emulators takes about 10 minutes at 100,000 users and hours at
// 1,000,000 (about 12 Jira requests per user); this gets the same end state in a fraction of it,
// so that no-change and incremental runs can be measured at 1M users.
//
// It runs the real read and the real projection up to the target write: the source's full
// listing, the shadow ingest (ShadowIngest, so shadow rows, keys and record fingerprints are the
// engine's own), the manager views, the mapping, the planner's create plan and the snapshot a
// fully confirmed create leaves (applyToSnapshot), the link fingerprint (engine.linkFingerprint).
// Only the write differs: instead of one create plus a request per group and per property, the
// accounts go to the Jira emulator's seeding route (POST /_emulator/users, 1,000 a request),
// which answers the keys the links name. Users waiting for a manager's username are finished
// after the read, as the engine's deferral does. Not written: the run and its journal items (a
// seeded store has no initial run in its history). What a later run can tell apart: nothing;
// a no-change run after seeding finds every user unchanged by its fingerprint (the benchmark
// checks: 0 writes, every user `unchanged`).
import { request } from 'undici';
import type { ConnectorConfig } from '../src/config/schema.ts';
import type { FieldValues, SourceUser } from '../src/core/types.ts';
import type { Store } from '../src/store/index.ts';
import type { Link } from '../src/store/links.ts';
import type { ConnectorContext } from '../src/sources/registry.ts';
import { buildRuntime, type Runtime, type TargetRuntime } from '../src/engine/runtime.ts';
import { fullRead } from '../src/engine/ingest.ts';
import { ShadowIngest } from '../src/engine/shadow-ingest.ts';
import { SeenMarks } from '../src/engine/seen-marks.ts';
import { GroupIngest } from '../src/engine/group-ingest.ts';
import { ManagerCache, attachManagerViews } from '../src/engine/manager-view.ts';
import { applyToSnapshot, isEmpty, missingForCreate, plan } from '../src/engine/planner.ts';
import { linkFingerprint, userLabel } from '../src/engine/engine.ts';
import type { MappedUser } from '../src/mapping/api.ts';

export interface SeedResult {
  read: number;
  linked: number;
  /** Users the real initial would fail too (a value Jira needs to create an account missing, a rule error). */
  notCreatable: number;
  ms: number;
}

/** A Jira DC account as the emulator seeds it (emulators/jira-dc/store.ts SeedUser). */
interface SeedAccount {
  name: string;
  displayName?: string;
  emailAddress?: string;
  active?: boolean;
  groups: string[];
  properties: Record<string, unknown>;
}

const CHUNK = 1000;
/** Jira puts every account it creates into its applications' default groups; the emulator's (emulators/jira-dc defaultGroups) is this one. */
const JIRA_DEFAULT_GROUPS = ['jira-software-users'];

export async function seedDirect(store: Store, connector: ConnectorConfig, ctx: ConnectorContext, jiraUrl: string, log: (s: string) => void = () => undefined): Promise<SeedResult> {
  const started = performance.now();
  const runtime = await buildRuntime(connector, { ...ctx, store, storedSecret: await store.connectors.secretLookup(connector.id) });
  try {
    const connectorId = connector.id;
    const ingest = new ShadowIngest(store.shadow, connectorId, { marks: new SeenMarks(store.shadow, store.links, connectorId, 'seed-direct'), write: true, outOfScope: (u) => outOfScope(runtime, u), carried: new Set() });
    const managers = new ManagerCache();
    const result: SeedResult = { read: 0, linked: 0, notCreatable: 0, ms: 0 };
    for (const t of runtime.targets) if (t.config.type !== 'jira-dc') throw new Error(`--seed-direct seeds Jira DC targets only, not ${t.config.type} (${t.config.id})`);
    // Per target: the username each seeded user got (its reports' manager.targetUsername), and
    // the users whose mapping waits for a manager's username not known yet.
    const usernames = new Map(runtime.targets.map((t) => [t.config.id, new Map<string, string>()]));
    const waiting = new Map(runtime.targets.map((t) => [t.config.id, new Map<string, SourceUser>()]));
    const buffers = new Map(runtime.targets.map((t) => [t.config.id, [] as Array<{ user: SourceUser; account: SeedAccount; link: Omit<Link, 'targetKey'> }>]));
    // Settled once applied in every target (the shadow row's pending mark), as the engine does.
    const owed = new Map<string, number>();
    const failed = new Set<string>();
    let final = false;

    const flush = async (t: TargetRuntime, all = false) => {
      const buffer = buffers.get(t.config.id)!;
      while (buffer.length >= (all ? 1 : CHUNK)) {
        const part = buffer.splice(0, CHUNK);
        const res = await request(`${jiraUrl}/_emulator/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ users: part.map((p) => p.account) }) });
        const body = (await res.body.json()) as { keys?: string[]; error?: string };
        if (res.statusCode !== 201 || !body.keys) throw new Error(`seeding the Jira emulator: ${res.statusCode} ${body.error ?? ''}`);
        const links: Link[] = part.map((p, i) => ({ ...p.link, targetKey: body.keys![i]! }));
        await store.links.upsertMany(links);
        result.linked += links.length;
        const settled: string[] = [];
        for (const p of part) {
          const left = owed.get(p.user.id)! - 1;
          if (left > 0) owed.set(p.user.id, left);
          else {
            owed.delete(p.user.id);
            if (!failed.has(p.user.id)) settled.push(p.user.id);
          }
        }
        await store.shadow.settle(connectorId, settled);
      }
    };

    /** Maps one user for one target; false while a manager's username is not known yet. */
    const project = async (t: TargetRuntime, user: SourceUser): Promise<boolean> => {
      const names = usernames.get(t.config.id)!;
      const mapped: MappedUser = await t.mapping.evaluate(user, { targetUsernameOf: (id) => names.get(id) ?? (final ? null : undefined) });
      if (mapped.pending.length > 0 && !final) return false;
      const planned = plan({ op: 'create', desired: mapped.values, flows: mapped.flows, current: {}, managedGroups: [], groupsAreActual: false });
      const username = typeof planned.effective['user.username'] === 'string' ? planned.effective['user.username'] : '';
      if (mapped.errors.length > 0 || missingForCreate(t.capabilities, planned.effective).length > 0 || !username) {
        // The real initial fails this user: no account, no link, its shadow row stays pending.
        result.notCreatable++;
        failed.add(user.id);
        return true;
      }
      // What a create confirmed field by field leaves as the link's snapshot.
      const applied = applyToSnapshot({}, planned.changes, new Set(planned.changes.map((c) => c.field)), planned.effective);
      const manager = (user.attrs.manager as { id?: unknown } | null | undefined)?.id;
      const managerUsername = t.resolvesUsernames && typeof manager === 'string' ? (names.get(manager) ?? null) : null;
      names.set(user.id, username);
      owed.set(user.id, (owed.get(user.id) ?? 0) + 1);
      buffers.get(t.config.id)!.push({
        user,
        account: accountOf(username, planned.effective),
        link: {
          connectorId,
          targetId: t.config.id,
          sourceId: user.id,
          targetUsername: username,
          label: userLabel(user),
          applied,
          managedGroups: Array.isArray(applied.groups) ? (applied.groups as string[]) : [],
          missingSince: null,
          fingerprint: linkFingerprint(user, t.mappingHash, managerUsername),
          cleanup: null,
        },
      });
      return true;
    };

    for await (const batch of fullRead(runtime).batches()) {
      result.read += batch.users.length;
      const got = await ingest.ingest(batch, true);
      // The groups of the shadow too, as the engine records a complete read's group list.
      if (batch.groupList) await new GroupIngest(store.shadow, connectorId, true).recordListing(batch.groupList);
      const keyWaiting = new Set(await attachManagerViews(store.shadow, connectorId, got.project, got.records, runtime.managerFields, managers));
      for (const t of runtime.targets) {
        for (const user of got.project) if (keyWaiting.has(user.id) || !(await project(t, user))) waiting.get(t.config.id)!.set(user.id, user);
        await flush(t);
      }
      if (result.read % 100_000 < batch.users.length) log(`seed-direct: ${result.read} users read, ${result.linked} linked, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    // The read is over: what is still unknown is final (the engine's resolvePending), managers before their reports.
    final = true;
    const again = [...new Map([...waiting.values()].flatMap((m) => [...m])).values()];
    for (let i = 0; i < again.length; i += 500) await attachManagerViews(store.shadow, connectorId, again.slice(i, i + 500), new Map(), runtime.managerFields, managers);
    for (const t of runtime.targets) {
      const left = waiting.get(t.config.id)!;
      while (left.size > 0) {
        let ready = [...left.values()].filter((u) => !left.has(((u.attrs.manager as { id?: string } | null | undefined)?.id) ?? ''));
        if (ready.length === 0) ready = [...left.values()];
        for (const u of ready) {
          left.delete(u.id);
          await project(t, u);
        }
      }
      await flush(t, true);
    }
    await store.shadow.setState(connectorId, { completeReadAt: new Date().toISOString() });
    result.ms = performance.now() - started;
    return result;
  } finally {
    await runtime.close();
  }
}

/** The Jira DC account a create of these values leaves (the fields the Jira DC target writes). */
function accountOf(username: string, effective: FieldValues): SeedAccount {
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const properties: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(effective)) if (field.startsWith('property.') && !isEmpty(value)) properties[field.slice('property.'.length)] = value;
  return {
    name: username,
    displayName: text(effective['user.displayName']),
    emailAddress: text(effective['user.email']),
    active: typeof effective['user.active'] === 'boolean' ? effective['user.active'] : undefined,
    groups: [...new Set([...(Array.isArray(effective.groups) ? (effective.groups as string[]) : []), ...JIRA_DEFAULT_GROUPS])],
    properties,
  };
}

/** The engine's scope test (SyncEngine.outOfScope): the source's, then required groups. */
function outOfScope(runtime: Runtime, user: SourceUser): string | undefined {
  if (user.outOfScope) return user.outOfScope;
  if (runtime.requiredGroups.length === 0) return undefined;
  const groups = new Set(user.groups ?? []);
  return runtime.requiredGroups.some((g) => groups.has(g)) ? undefined : 'not a member of the required groups';
}
