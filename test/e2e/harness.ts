// Shared set-up of the end-to-end tests: the Graph (Entra ID) and Jira DC emulators (and
// Confluence DC on request) with a seeded organisation, a connector that reads through the
// real Entra source, and an oracle that says what each directory user must look like in
// Jira, computed from the directory itself rather than through idsync's mapper.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { generateOrg } from '../../emulators/org/index.ts';
import type { Org, OrgUser } from '../../emulators/org/types.ts';
import { startGraphEmulator, type GraphEmulator } from '../../emulators/graph/index.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { DEFAULT_ADMIN as CONFLUENCE_ADMIN, startConfluenceDcEmulator, type ConfluenceDcEmulator } from '../../emulators/confluence-dc/index.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { Json, MappingRule } from '../../src/core/types.ts';
import type { Store } from '../../src/store/index.ts';
import { rule } from '../../src/cli/demo-mapping.ts';

export { rule };
import { syncHooks, type SyncWorld } from '../helpers/sync-hooks.ts';
import type { TestStore } from '../helpers/stores.ts';
export { resetJira, syncHooks, type SyncWorld } from '../helpers/sync-hooks.ts';

/** Secrets unique to this test process, so "never in any output" is a meaningful check. */
export const SECRETS = {
  graphClientSecret: `graph-secret-${randomBytes(12).toString('hex')}`,
  jiraPat: `jira-pat-${randomBytes(12).toString('hex')}`,
  confluencePassword: CONFLUENCE_ADMIN.password,
};
export const ENV = { graph: 'IDSYNC_E2E_GRAPH_SECRET', jira: 'IDSYNC_E2E_JIRA_PAT', confluence: 'IDSYNC_E2E_CONFLUENCE_PASSWORD' };
process.env[ENV.graph] = SECRETS.graphClientSecret;
process.env[ENV.jira] = SECRETS.jiraPat;
process.env[ENV.confluence] = SECRETS.confluencePassword;

export const CLIENT_ID = '3b9d2f70-1c44-4e6b-8f0a-6d5e4c3b2a19';
export const ORG_SIZE = 300;
/** Jira puts every created user into its default group; idsync leaves it alone. */
export const JIRA_DEFAULT_GROUP = 'jira-software-users';

/**
 * The seeded company, with one department head moved to the end of the listing so that
 * his reports are read before him (the manager arrives later in the same run).
 */
export function e2eOrg(users = ORG_SIZE): Org {
  const org = generateOrg({ users, seed: 7 });
  const [lateManager] = org.users.splice(1, 1);
  org.users.push(lateManager!);
  return org;
}

/** The department head read last (see e2eOrg). */
export function lateManager(org: Org): OrgUser {
  return org.users[org.users.length - 1]!;
}

export interface Emulators {
  graph: GraphEmulator;
  jira: JiraDcEmulator;
  confluence?: ConfluenceDcEmulator;
  /** Back to the seeded company, no faults, an empty Jira (and Confluence). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** The directory groups the Jira mapping keeps, which a Jira administrator would have created. */
export function jiraGroupsOf(org: Org): string[] {
  return org.groups.map((g) => g.displayName).filter((n) => n.startsWith('dept-') || n === 'jira-users');
}

export async function startEmulators(opts: { confluence?: boolean; users?: number; /** Default true. */ precreateJiraGroups?: boolean } = {}): Promise<Emulators> {
  const org = e2eOrg(opts.users);
  const graph = await startGraphEmulator({ org, clients: [{ clientId: CLIENT_ID, clientSecret: SECRETS.graphClientSecret }] });
  // Groups exist up front (as in most Jira sites), so runs do not depend on idsync creating
  // them concurrently; the tests that cover group creation start without them.
  const groups = opts.precreateJiraGroups === false ? [] : jiraGroupsOf(org);
  const jira = await startJiraDcEmulator({ patTokens: { [SECRETS.jiraPat]: 'admin' }, groups });
  const confluence = opts.confluence ? await startConfluenceDcEmulator({}) : undefined;
  const all = [graph, jira, confluence].filter((e) => e !== undefined);
  return {
    graph,
    jira,
    confluence,
    async reset() {
      graph.setFaults({ errorRate: 0, dropRate: 0, latencyMs: 0, rateLimit: undefined, script: [] });
      graph.setBatchFaults([]);
      graph.directory.replace(e2eOrg(opts.users));
      graph.resetStats();
      // Jira and Confluence reseed their built-in administrators on reset.
      for (const e of [jira, confluence]) {
        if (!e) continue;
        const res = await fetch(`${e.url}/_emulator/reset`, { method: 'POST' });
        assert.ok(res.ok, `reset ${e.name}: ${res.status}`);
      }
    },
    async close() {
      await Promise.all(all.map((e) => e.close()));
    },
  };
}

/** The Jira mapping under test: account, groups, profile data and the manager three ways. */
export function jiraRules(): MappingRule[] {
  return [
    rule('user.username', '$lower($stripDomain($guestToMail(userPrincipalName)))', { whenEmpty: 'keep' }),
    rule('user.displayName', 'displayName', { whenEmpty: 'keep' }),
    rule('user.email', '$firstNonEmpty(mail, $guestToMail(userPrincipalName))', { whenEmpty: 'keep' }),
    rule('user.active', 'accountEnabled', { whenEmpty: 'keep' }),
    rule('groups', 'groups[$contains($, /^dept-/) or $ = "jira-users"]'),
    rule('property.department', 'department'),
    rule('property.jobTitle', 'jobTitle'),
    rule('property.costCenter', 'onPremisesExtensionAttributes.extensionAttribute3'),
    rule('property.managerEmail', 'manager.mail'),
    rule('property.managerName', 'manager.displayName'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

export function confluenceRules(): MappingRule[] {
  return [
    rule('user.username', '$lower($stripDomain($guestToMail(userPrincipalName)))', { whenEmpty: 'keep' }),
    rule('user.displayName', 'displayName', { whenEmpty: 'keep' }),
    rule('user.email', '$firstNonEmpty(mail, $guestToMail(userPrincipalName))', { whenEmpty: 'keep' }),
    rule('user.active', 'accountEnabled', { whenEmpty: 'keep' }),
    rule('groups', 'groups[$contains($, /^dept-/) or $ = "confluence-users"]'),
    rule('confluence.profile.department', 'department'),
    rule('confluence.profile.position', 'jobTitle'),
  ];
}

/** The Jira DC target of an end-to-end connector: the emulator, the test's PAT from the environment, users and groups created. */
export function jiraTarget(jira: { url: string }, mapping: MappingRule[]): ConnectorConfig['targets'][number] {
  return { id: 'jira', type: 'jira-dc', url: jira.url, auth: { type: 'pat', token: { env: ENV.jira } }, mapping, createUsers: true, createMissingGroups: true, concurrency: 8 };
}

export function e2eConnector(em: Emulators, opts: { confluence?: boolean; id?: string } = {}): ConnectorConfig {
  const targets: ConnectorConfig['targets'] = [jiraTarget(em.jira, jiraRules())];
  if (opts.confluence) {
    assert.ok(em.confluence, 'start the emulators with confluence: true');
    targets.push({
      id: 'confluence',
      type: 'confluence-dc',
      url: em.confluence.url,
      auth: { type: 'basic', username: CONFLUENCE_ADMIN.username, password: { env: ENV.confluence } },
      mapping: confluenceRules(),
      createUsers: true,
      createMissingGroups: true,
      concurrency: 8,
    });
  }
  return {
    id: opts.id ?? 'entra-e2e',
    name: 'Entra ID end to end',
    source: {
      type: 'entra',
      tenantId: em.graph.tenantId,
      clientId: CLIENT_ID,
      clientSecret: { env: ENV.graph },
      authorityHost: em.graph.authorityHost,
      graphUrl: em.graph.graphUrl,
      requiredGroups: [],
    },
    targets,
  };
}

// ------------------------------------------------------------------ suites

/** An identity provider's emulator and a Jira DC emulator beside it. */
export interface IdpAndJira<E> {
  idp: E;
  jira: JiraDcEmulator;
  close(): Promise<void>;
}

/**
 * The provider's emulator serving the seeded company (e2eOrg(users)), and Jira DC taking the
 * test's PAT with `jiraGroups` there up front (default: the groups the Jira mapping keeps).
 */
export async function startIdpAndJira<E extends { close(): Promise<void> }>(users: number, startIdp: (org: Org) => Promise<E>, jiraGroups?: (idp: E, org: Org) => string[]): Promise<IdpAndJira<E>> {
  const org = e2eOrg(users);
  const idp = await startIdp(org);
  try {
    const jira = await startJiraDcEmulator({ patTokens: { [SECRETS.jiraPat]: 'admin' }, groups: jiraGroups ? jiraGroups(idp, org) : jiraGroupsOf(org) });
    return { idp, jira, close: async () => void (await Promise.all([idp.close(), jira.close()])) };
  } catch (e) {
    await idp.close();
    throw e;
  }
}


// ------------------------------------------------------------------ the oracle

/** `local_domain#EXT#@tenant` → `local@domain`, written independently of the mapping preset. */
export function guestAddress(upn: string): string {
  const local = upn.split('#EXT#')[0]!;
  const cut = local.lastIndexOf('_');
  return `${local.slice(0, cut)}@${local.slice(cut + 1)}`;
}

export function expectedUsername(u: OrgUser): string {
  const address = u.userPrincipalName.includes('#EXT#') ? guestAddress(u.userPrincipalName) : u.userPrincipalName;
  return address.split('@')[0]!.toLowerCase();
}

export function expectedEmail(u: OrgUser): string {
  return u.mail || (u.userPrincipalName.includes('#EXT#') ? guestAddress(u.userPrincipalName) : u.userPrincipalName);
}

/** Direct group memberships (the connector reads memberOf, not transitive) the mapping keeps. */
export function expectedGroups(org: Org, u: OrgUser): string[] {
  return org.groups
    .filter((g) => g.members.includes(u.id))
    .map((g) => g.displayName)
    .filter((n) => n.startsWith('dept-') || n === 'jira-users')
    .sort();
}

export function expectedProperties(org: Org, u: OrgUser): Record<string, Json> {
  const manager = u.managerId ? org.users.find((m) => m.id === u.managerId) : undefined;
  const props: Record<string, Json | null | undefined> = {
    department: u.department,
    jobTitle: u.jobTitle,
    costCenter: u.onPremisesExtensionAttributes.extensionAttribute3,
    managerEmail: manager?.mail,
    managerName: manager?.displayName,
    managerUsername: manager ? expectedUsername(manager) : undefined,
  };
  // whenEmpty: clear on a user that never had the value: nothing is written at all.
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== null && v !== undefined && v !== '')) as Record<string, Json>;
}

/**
 * Every directory user is in Jira exactly once, with the mapped account fields, groups and
 * properties; nobody else was created. `except` lists source ids not checked (known failures).
 */
export function assertJiraMatchesDirectory(jira: JiraDcEmulator, org: Org, except: string[] = []): void {
  const builtIn = new Set(['admin', 'viewer']);
  const jiraUsers = [...jira.store.allUsers()].filter((u) => !builtIn.has(u.name));
  const names = jiraUsers.map((u) => u.name);
  assert.equal(new Set(names).size, names.length, 'no Jira user exists twice');
  const checked = org.users.filter((u) => !except.includes(u.id));
  for (const u of checked) {
    const username = expectedUsername(u);
    const got = jira.inspect(username);
    assert.ok(got, `${u.userPrincipalName} is in Jira as ${username}`);
    assert.equal(got.displayName, u.displayName, `${username}: displayName`);
    assert.equal(got.emailAddress, expectedEmail(u), `${username}: email`);
    assert.equal(got.active, u.accountEnabled, `${username}: active`);
    const groups = got.groups.filter((g) => g !== JIRA_DEFAULT_GROUP).sort();
    assert.deepEqual(groups, expectedGroups(org, u), `${username}: groups`);
    assert.deepEqual(got.properties, expectedProperties(org, u), `${username}: properties`);
  }
  assert.equal(jiraUsers.length, org.users.length, 'Jira holds the directory users and nobody else');
}

// ------------------------------------------------------------------ runs

export interface PlannedItem {
  sourceId: string | null;
  targetId: string | null;
  operation: string;
  error: string | null;
  changes: Array<{ field: string; before: unknown; after: unknown; add?: string[]; remove?: string[] }>;
}

/** A run's items in a stable order, with what a plan consists of (no ids, no timings). */
export async function planOf(store: Store, runId: string): Promise<PlannedItem[]> {
  const { items, total } = await store.runs.items(runId, { limit: 100_000 });
  assert.equal(items.length, total);
  return items
    .map((i) => ({
      sourceId: i.sourceId,
      targetId: i.targetId,
      operation: i.operation,
      error: i.error,
      changes: i.changes
        .map((c) => ({ field: c.field, before: c.before, after: c.after, ...(c.add ? { add: [...c.add].sort() } : {}), ...(c.remove ? { remove: [...c.remove].sort() } : {}) }))
        .sort((a, b) => a.field.localeCompare(b.field)),
    }))
    .sort((a, b) => `${a.sourceId}/${a.targetId}`.localeCompare(`${b.sourceId}/${b.targetId}`));
}

/** A call to the Graph emulator's control API (`/_emulator/…`), over TLS like Graph, as another process would make it. */
export async function graphControl(graph: Pick<GraphEmulator, 'url' | 'ca'>, method: string, path: string, body?: unknown): Promise<void> {
  const dispatcher = new Agent({ connect: { ca: graph.ca } });
  try {
    const res = await undiciFetch(`${graph.url}/_emulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher,
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} /_emulator${path}: ${res.status} ${text}`);
  } finally {
    await dispatcher.close();
  }
}

/** Edits a user in the emulated directory through its control API, as another process would. */
export const patchDirectoryUser = (graph: GraphEmulator, id: string, patch: Record<string, unknown>): Promise<void> =>
  graphControl(graph, 'PATCH', `/users/${encodeURIComponent(id)}`, patch);

/**
 * syncHooks for a suite over the emulated Entra tenant and Jira (startEmulators with `emulators`),
 * reset before each test, the Graph emulator's CA trusted; `ready` receives each test's world.
 */
export function entraSyncHooks(opts: { emulators?: Parameters<typeof startEmulators>[0]; openStore?: () => Promise<TestStore>; ready(world: SyncWorld<Emulators>): void }): void {
  syncHooks({ start: () => startEmulators(opts.emulators), reset: (e) => e.reset(), ca: (e) => e.graph.ca, openStore: opts.openStore, ready: opts.ready });
}
