// Test doubles for the modules the server drives: a source and a target type, a mapper that
// understands plain paths (and refuses expressions starting with "$bad"), and an engine that
// journals runs in the real store like the real engine does. Runs can be held open with a gate.
import { z } from 'zod';
import { sourceBaseSchema, targetBaseSchema, type ConnectorConfig } from '../../src/config/schema.ts';
import { secretRefSchema } from '../../src/config/secrets.ts';
import type { SourceUser, TargetCapabilities } from '../../src/core/types.ts';
import type { SyncRequest, SyncResult } from '../../src/engine/api.ts';
import type { MappingIssue } from '../../src/mapping/api.ts';
import { previewGroupRules } from '../../src/mapping/group-rules-preview.ts';
import { newRunId, emptyCounts } from '../../src/store/runs.ts';
import type { Store } from '../../src/store/index.ts';
import type { EngineService, RegistryService, Services } from '../../src/server/services.ts';
import type { SourceDefinition } from '../../src/sources/registry.ts';
import type { TargetDefinition } from '../../src/targets/registry.ts';

export const capabilities: TargetCapabilities = {
  kind: 'jira-dc',
  canCreateUsers: true,
  lifecycle: { disable: true, delete: false, anonymise: false, renameUsername: false, removeAccess: false },
  fields: [
    { name: 'user.username', type: 'string', label: 'Username', requiredOnCreate: true },
    { name: 'user.displayName', type: 'string', label: 'Full name' },
    { name: 'user.email', type: 'string', label: 'Email' },
    { name: 'user.active', type: 'boolean', label: 'Active' },
    { name: 'groups', type: 'string[]', label: 'Groups' },
    { name: 'property.', type: 'json', label: 'User property' },
  ],
  unsupported: [{ name: 'confluence.profile.', reason: 'Jira has no Confluence profile; use property.<key>' }],
};

export const users: SourceUser[] = [
  { id: 'u-1', attrs: { displayName: 'Adele Vance', userPrincipalName: 'adele@contoso.test', mail: 'adele@contoso.test', department: 'Sales', manager: { mail: 'megan@contoso.test' } } },
  { id: 'u-2', attrs: { displayName: 'Megan Bowen', userPrincipalName: 'megan@contoso.test', mail: 'megan@contoso.test', department: 'Marketing', manager: null } },
];

function get(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

export function fakeServices(engine: EngineService): Services {
  return {
    engine,
    registry: {
      sourceTypes: ['entra'],
      targetTypes: ['jira-dc'],
      async source(type) {
        if (type !== 'entra') throw new Error(`unknown source type "${type}"`);
        return {
          type: 'entra',
          label: 'Microsoft Entra ID',
          configSchema: sourceBaseSchema.extend({ tenantId: z.string().min(1), clientId: z.string().min(1), clientSecret: secretRefSchema }),
          secretFields: ['clientSecret'],
          knownAttributes: [
            { path: 'displayName', type: 'string' },
            { path: 'mail', type: 'string' },
            { path: 'userPrincipalName', type: 'string' },
            { path: 'department', type: 'string' },
            { path: 'manager.mail', type: 'string' },
          ],
          create: () => {
            throw new Error('not used');
          },
        };
      },
      async target(type) {
        if (type !== 'jira-dc') throw new Error(`unknown target type "${type}"`);
        return {
          type: 'jira-dc',
          label: 'Jira Data Center',
          configSchema: targetBaseSchema.extend({ baseUrl: z.string().url('enter the Jira base URL'), token: secretRefSchema }),
          secretFields: ['token'],
          capabilities,
          create: () => {
            throw new Error('not used');
          },
        };
      },
    },
    mapping: {
      async validate({ rules, capabilities: caps }) {
        const issues: MappingIssue[] = [];
        rules.forEach((r, row) => {
          if (r.source.startsWith('$bad')) issues.push({ row, field: 'source', message: 'expression error: unknown function $bad', position: 1, severity: 'error' });
          const known = caps.fields.some((f) => f.name === r.target || (f.name.endsWith('.') && r.target.startsWith(f.name) && r.target.length > f.name.length));
          if (!known) issues.push({ row, field: 'target', message: `${r.target} cannot be written by this target`, severity: 'error' });
        });
        return issues;
      },
      async preview(rule, user) {
        const value = get(user.attrs, rule.source);
        return { ok: true, value: (value ?? null) as never, empty: value === undefined || value === null };
      },
      // The real one: group rules are pure and need no source or target.
      previewGroupRules: (groupRules, user, caps, mapping) => previewGroupRules(groupRules, user, { capabilities: caps, mapping }),
    },
  };
}

/**
 * A registry of the given (real) source and target definitions, for suites where their schemas,
 * secret fields and help texts are what is under test; any other type is unknown, as in a build
 * without it.
 */
export function registryOf(sources: Record<string, SourceDefinition>, targets: Record<string, TargetDefinition>): RegistryService {
  const lookup = <T>(kind: string, all: Record<string, T>) => async (type: string): Promise<T> => {
    if (!Object.hasOwn(all, type)) throw new Error(`unknown ${kind} type "${type}"`);
    return all[type]!;
  };
  return {
    sourceTypes: Object.keys(sources),
    targetTypes: Object.keys(targets),
    source: lookup('source', sources),
    target: lookup('target', targets),
  };
}

/** An engine that journals runs in the store; `hold()` keeps the next runs open until released. */
export class FakeEngine implements EngineService {
  calls: SyncRequest[] = [];
  /** Runs in progress now, and the most there ever were at once. */
  running = 0;
  maxRunning = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  /** Resolves when a run has started (reached the gate). */
  started: Promise<void> = Promise.resolve();
  private markStarted: () => void = () => {};

  constructor(private readonly store: Store) {}

  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
    this.started = new Promise((r) => (this.markStarted = r));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  async run(req: SyncRequest): Promise<SyncResult> {
    this.calls.push(req);
    const id = newRunId();
    const claimed = await this.store.runs.create({ id, connectorId: req.connector.id, kind: req.kind, dryRun: !!req.dryRun, reconcile: false, trigger: req.trigger, userRef: req.userRef ?? null, startedAt: new Date().toISOString() });
    req.onClaimed?.(claimed);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      return await this.afterClaim(req, id);
    } finally {
      this.running--;
    }
  }

  private async afterClaim(req: SyncRequest, id: string): Promise<SyncResult> {
    req.onProgress?.({ phase: 'reading', read: 1, planned: 0, written: 0, failed: 0 });
    this.markStarted();
    if (this.gate) await this.gate;
    const selected = req.kind === 'user' ? users.filter((u) => u.attrs.userPrincipalName === req.userRef) : users;
    await this.store.runs.addItems(
      id,
      selected.map((u, i) => ({
        seq: i + 1,
        sourceId: u.id,
        label: String(u.attrs.displayName),
        targetId: 'jira',
        operation: i === 0 ? 'created' : 'failed',
        error: i === 0 ? null : 'Jira refused the e-mail address, "=cmd" is not valid',
        changes: i === 0 ? [{ field: 'property.managerEmail', before: undefined, after: 'megan@contoso.test' }] : [],
        details: null,
      })),
    );
    const counts = { ...emptyCounts(), read: selected.length, created: 1, failed: selected.length - 1 };
    await this.store.runs.update(id, { status: selected.length > 1 ? 'partial' : 'succeeded', finishedAt: new Date().toISOString(), counts });
    const run = (await this.store.runs.get(id))!;
    return {
      run,
      ...(req.kind === 'user'
        ? { user: { found: selected.length > 0, sourceId: selected[0]?.id, label: 'Adele Vance', mapped: { jira: { 'property.managerEmail': 'megan@contoso.test' } }, targets: [{ targetId: 'jira', matched: 'none', operation: 'created', changes: [] }] } }
        : {}),
    } as SyncResult;
  }

  async testConnection(connector: ConnectorConfig) {
    return { ok: false, source: { ok: true, checks: [{ name: 'token', ok: true, message: 'ok' }] }, targets: Object.fromEntries(connector.targets.map((t) => [t.id, { ok: false, checks: [{ name: 'token', ok: false, message: 'Jira answered 401: the token is wrong or expired' }] }])) };
  }

  async attributes() {
    return [{ path: 'onPremisesExtensionAttributes.extensionAttribute3', type: 'string' as const }];
  }

  async sampleUsers(_c: ConnectorConfig, query: string, limit: number) {
    const q = query.toLowerCase();
    return users.filter((u) => !q || JSON.stringify(u.attrs).toLowerCase().includes(q)).slice(0, limit);
  }

  async searchUsers(_c: ConnectorConfig, text: string, limit: number) {
    const q = text.trim().toLowerCase();
    if (!q) return [];
    const textOf = (v: unknown) => (typeof v === 'string' ? v : null);
    return users
      .filter((u) => ['displayName', 'userPrincipalName', 'mail'].some((k) => textOf(u.attrs[k])?.toLowerCase().startsWith(q)))
      .slice(0, limit)
      .map((u) => ({ id: u.id, displayName: textOf(u.attrs.displayName), userPrincipalName: textOf(u.attrs.userPrincipalName), mail: textOf(u.attrs.mail) }));
  }
}

export const SECRET = 'S3cr3t-client-value-9f8e7d';
export const TOKEN_SECRET = 'jira-pat-value-1a2b3c4d';

/** A connector as the browser sends it when creating one. */
export function newConnectorInput(): Record<string, unknown> {
  return {
    id: 'contoso',
    name: 'Contoso',
    source: { type: 'entra', tenantId: 'contoso.test', clientId: 'app-1', clientSecret: { replace: SECRET }, requiredGroups: [] },
    targets: [
      {
        id: 'jira',
        type: 'jira-dc',
        baseUrl: 'https://jira.contoso.test',
        token: { replace: TOKEN_SECRET },
        mapping: [
          { target: 'user.username', source: 'userPrincipalName' },
          { target: 'user.email', source: 'mail' },
        ],
      },
    ],
    schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin', enabled: true },
  };
}
