// Connectors: list, read, create, replace, delete; the pickers' catalogues (source attributes,
// target fields); mapping validation and preview; test connection; sync triggers and progress.
import { z } from 'zod';
import type { ConnectorConfig } from '../config/schema.ts';
import { RUN_KINDS, type AttributeInfo, type SourceUser } from '../core/types.ts';
import { errorText } from '../core/errors.ts';
import { secretRefSchema } from '../config/secrets.ts';
import { groupRulesSchema } from '../config/group-rules.ts';
import type { Store } from '../store/index.ts';
import type { StoredConnector } from '../store/connectors.ts';
import { applySecretInput, redactConnector } from './connector-secrets.ts';
import type { SecretRefPolicy } from './secret-ref-policy.ts';
import { mergeAttributes, validateConnector } from './connector-validation.ts';
import { USER_SYNC_QUEUE } from './run-coordinator.ts';
import type { RunTriggers } from '../jobs/triggers.ts';
import { waitText } from '../engine/run-claim.ts';
import { runOut } from './api-schemas.ts';
import { HttpError, type ApiRouter, type FieldIssue } from './routes.ts';
import type { Scheduler } from './scheduler.ts';
import { describeSchedule } from './schedule.ts';
import { asJson, type Services } from './services.ts';
import { defaultMappingOf } from '../sources/default-mappings.ts';

const json = z.any();
const issue = z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string(), position: z.number().optional() });
const scheduleOut = z.object({ valid: z.boolean(), text: z.string().optional(), next: z.array(z.string()), error: z.string().optional(), field: z.enum(['cron', 'timezone']).optional() });
const progressOut = z.object({ phase: z.string(), read: z.number(), planned: z.number(), written: z.number(), failed: z.number() });
const activeOut = z.object({ connectorId: z.string(), kind: z.enum(RUN_KINDS), dryRun: z.boolean(), trigger: z.string(), userRef: z.string().optional(), startedAt: z.string(), progress: progressOut, runId: z.string().optional().describe('the claimed run (its record in the run history, on whichever instance runs it)') });
const activityOut = z.object({
  active: activeOut.optional(),
  last: z.object({ runId: z.string().optional(), status: z.string(), error: z.string().optional(), finishedAt: z.string() }).optional(),
  queued: z.number().optional().describe('jobs of the connector waiting for their turn, on any instance (single-user syncs, approvals, a scheduled sync behind them)'),
});
const summaryOut = z.object({
  id: z.string(), name: z.string(), source: z.object({ type: z.string() }), targets: z.array(z.object({ id: z.string(), type: z.string() })),
  status: z.enum(['running', 'succeeded', 'failed', 'partial', 'never-run']), revision: z.number(), updatedAt: z.string(),
  lastRun: runOut.nullable(), schedule: z.object({ cron: z.string(), timezone: z.string(), enabled: z.boolean(), description: scheduleOut }).nullable(),
  nextRun: z.string().nullable(), active: activeOut.optional(),
});
const detailOut = z.object({
  config: json.describe('The connector; stored secrets appear as {"set": true}'), revision: z.number(), createdAt: z.string(), updatedAt: z.string(),
  schedule: scheduleOut.nullable(),
});
const configIn = z.record(z.string(), json).describe(
  'The connector as in the config model. Secret settings: {"set": true} keeps the stored value, {"replace": "..."} stores a new one, {"env": VAR} or {"file": PATH} references one (only one already stored there, or one the operator allows with IDSYNC_ALLOWED_SECRET_REFS), absent removes it.',
);
const ruleIn = z.object({ target: z.string(), source: z.string(), default: json.optional(), flow: z.enum(['always', 'onCreate', 'ifEmpty']).default('always'), whenEmpty: z.enum(['keep', 'clear']).default('keep') });
const previewOut = z.object({ ok: z.boolean(), value: json.optional(), empty: z.boolean().optional(), error: z.string().optional() });
const userHitOut = z.object({ id: z.string(), displayName: z.string().nullable(), userPrincipalName: z.string().nullable(), mail: z.string().nullable() });
const groupDecisionOut = z.object({
  source: z.string().optional().describe('the group as the rules received it; absent for a default group'),
  rule: z.number().optional().describe('index of the rule that decided; absent when none matched'),
  outcome: z.enum(['included', 'excluded', 'kept', 'dropped', 'default', 'failed']),
  name: z.string().optional().describe("the group's name in the target"),
  error: z.string().optional(),
});
const groupRulesPreviewOut = z.object({
  inputFrom: z.enum(['source', 'mapping']),
  input: z.array(z.string()),
  decisions: z.array(groupDecisionOut),
  groups: z.array(z.string()).optional(),
  dropUnmatched: z.boolean(),
  issues: z.array(z.object({ path: z.string(), message: z.string(), severity: z.enum(['error', 'warning']), position: z.number().optional() })),
  errors: z.array(z.string()),
});
const sampleUserOut = z.object({ id: z.string(), label: z.string(), attrs: z.record(z.string(), json), groups: z.array(z.string()).optional() });

export interface ConnectorRouteDeps {
  store: Store;
  services: Services;
  /** The triggers (jobs on the queue), and what keeps a connector busy on any instance. */
  runs: RunTriggers;
  scheduler?: Scheduler;
  /** After a save or delete: the scheduler and the job runner reload (default: the scheduler alone). */
  onSchedulesChanged?: () => Promise<void>;
  /** The {env}/{file} references the operator lets the API set. */
  secretRefs: SecretRefPolicy;
}

export function labelOf(u: SourceUser): string {
  const a = u.attrs as Record<string, unknown>;
  const name = typeof a.displayName === 'string' ? a.displayName : undefined;
  const upn = typeof a.userPrincipalName === 'string' ? a.userPrincipalName : typeof a.mail === 'string' ? a.mail : undefined;
  return name && upn ? `${name} (${upn})` : (name ?? upn ?? u.id);
}

export function connectorRoutes(api: ApiRouter, deps: ConnectorRouteDeps): void {
  const { store, services, runs } = deps;
  /** Attributes discovered per connector, so a save can check paths the provider really has. */
  const discovered = new Map<string, AttributeInfo[]>();

  async function load(id: string): Promise<StoredConnector> {
    const c = await store.connectors.get(id);
    if (!c) throw new HttpError(404, `no connector with id "${id}"`);
    return c;
  }

  async function summary(c: StoredConnector): Promise<z.infer<typeof summaryOut>> {
    const [lastRun] = await store.runs.list({ connectorId: c.config.id, limit: 1 });
    const activity = await runs.activity(c.config.id);
    const s = c.config.schedule;
    const description = s ? describeSchedule(s.cron, s.timezone) : undefined;
    const next = s?.enabled ? (deps.scheduler?.nextRun(c.config.id)?.toISOString() ?? description?.next[0] ?? null) : null;
    return {
      id: c.config.id,
      name: c.config.name ?? c.config.id,
      source: { type: c.config.source.type },
      targets: c.config.targets.map((t) => ({ id: t.id, type: t.type })),
      status: activity.active ? 'running' : ((lastRun?.status as 'succeeded') ?? 'never-run'),
      revision: c.revision,
      updatedAt: c.updatedAt,
      lastRun: lastRun ?? null,
      schedule: s && description ? { cron: s.cron, timezone: s.timezone, enabled: s.enabled, description } : null,
      nextRun: next,
      ...(activity.active ? { active: activity.active } : {}),
    };
  }

  function detail(c: StoredConnector): z.infer<typeof detailOut> {
    const s = c.config.schedule;
    return { config: redactConnector(c.config), revision: c.revision, createdAt: c.createdAt, updatedAt: c.updatedAt, schedule: s ? describeSchedule(s.cron, s.timezone) : null };
  }

  /**
   * The provider's attributes for checking source paths: from the cache the mapping editor
   * filled, else discovered now (only when the settings' secrets are already stored).
   */
  async function discoveredFor(id: string, config: Record<string, unknown>, canDiscover: boolean): Promise<{ list?: AttributeInfo[]; warning?: FieldIssue }> {
    const cached = discovered.get(id);
    if (cached) return { list: cached };
    if (canDiscover && id && (await store.connectors.get(id))) {
      try {
        const found = await services.engine.attributes(config as ConnectorConfig);
        discovered.set(id, found);
        return { list: found };
      } catch (e) {
        return { warning: { path: ['source'], message: `source attribute names were not checked: the provider could not be asked (${errorText(e)})` } };
      }
    }
    return { warning: { path: ['source'], message: 'source attribute names were not checked: open the mapping editor once the connector is saved to discover them' } };
  }

  /** Validates and saves; throws 400 with placed issues and saves nothing when anything is wrong. */
  async function save(input: Record<string, unknown>, existing: StoredConnector | undefined, expectedRevision?: number): Promise<{ stored: StoredConnector; warnings: FieldIssue[] }> {
    const { config, secrets, missing, refused } = applySecretInput(input, existing, deps.secretRefs);
    const errors: FieldIssue[] = [...missing.map((path) => ({ path, message: 'no value is stored for this secret yet; enter one' })), ...refused];
    const id = typeof config.id === 'string' ? config.id : '';
    // Discovery asks the provider with the submitted settings: never with a reference refused above.
    const attributes = await discoveredFor(id, config, Object.keys(secrets).length === 0 && refused.length === 0);
    const outcome = await validateConnector(config, services, attributes.list ? { discoveredAttributes: attributes.list } : {});
    errors.push(...outcome.errors.map((i) => plainMissing(i, config)));
    if (attributes.warning) outcome.warnings.push(attributes.warning);
    if (errors.length || !outcome.config) {
      // A refused reference is said in the message too: a script reading only `error` must learn why.
      const why = refused.length ? ` (${refused[0]!.path.join('.')}: ${refused[0]!.message})` : '';
      throw new HttpError(400, `the connector was not saved: ${errors.length} problem${errors.length === 1 ? '' : 's'} to fix${why}`, { issues: errors, warnings: outcome.warnings });
    }
    const stored = await store.connectors.save(outcome.config as ConnectorConfig, { secrets, ...(expectedRevision !== undefined ? { expectedRevision } : {}) });
    await (deps.onSchedulesChanged ?? (async () => deps.scheduler?.reload()))();
    return { stored, warnings: outcome.warnings };
  }

  // ------------------------------------------------------------ catalogues

  api.route(
    {
      method: 'GET', path: '/api/v1/source-types', tag: 'catalogue', access: 'viewer', summary: 'Source types: settings, secret settings, attributes known before discovery',
      response: z.object({ sourceTypes: z.array(z.object({ type: z.string(), label: z.string(), available: z.boolean(), secretFields: z.array(z.string()), knownAttributes: z.array(json), defaultMapping: z.array(json), configSchema: json.optional(), error: z.string().optional() })) }),
    },
    async () => ({
      sourceTypes: await Promise.all(
        services.registry.sourceTypes.map(async (type) => {
          try {
            const d = await services.registry.source(type);
            return { type, label: d.label, available: true, secretFields: d.secretFields, knownAttributes: d.knownAttributes, defaultMapping: defaultMappingOf(d), configSchema: safeJsonSchema(d.configSchema) };
          } catch (e) {
            return { type, label: type, available: false, secretFields: [], knownAttributes: [], defaultMapping: [], error: errorText(e) };
          }
        }),
      ),
    }),
  );

  api.route(
    {
      method: 'GET', path: '/api/v1/target-types', tag: 'catalogue', access: 'viewer', summary: 'Target types: settings, secret settings and the fields each can write (capabilities)',
      response: z.object({ targetTypes: z.array(z.object({ type: z.string(), label: z.string(), available: z.boolean(), secretFields: z.array(z.string()), capabilities: json.optional(), configSchema: json.optional(), error: z.string().optional() })) }),
    },
    async () => ({
      targetTypes: await Promise.all(
        services.registry.targetTypes.map(async (type) => {
          try {
            const d = await services.registry.target(type);
            return { type, label: d.label, available: true, secretFields: d.secretFields, capabilities: d.capabilities, configSchema: safeJsonSchema(d.configSchema) };
          } catch (e) {
            return { type, label: type, available: false, secretFields: [], error: errorText(e) };
          }
        }),
      ),
    }),
  );

  api.route(
    {
      method: 'GET', path: '/api/v1/schedule/describe', tag: 'catalogue', access: 'viewer', summary: 'A cron schedule in words with its next three run times',
      query: z.object({ cron: z.string().min(1), timezone: z.string().default('UTC') }), response: scheduleOut,
    },
    async ({ query }) => describeSchedule(query.cron, query.timezone),
  );

  // ------------------------------------------------------------ CRUD

  api.route(
    { method: 'GET', path: '/api/v1/connectors', tag: 'connectors', access: 'viewer', summary: 'Connectors with status, last run and next scheduled run', response: z.object({ connectors: z.array(summaryOut) }) },
    async () => ({ connectors: await Promise.all((await store.connectors.list()).map(summary)) }),
  );

  api.route(
    { method: 'GET', path: '/api/v1/connectors/:id', tag: 'connectors', access: 'viewer', summary: 'One connector (secrets shown as {"set": true})', response: detailOut, errors: { 404: 'no such connector' } },
    async ({ params }) => detail(await load(params.id!)),
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/connectors', tag: 'connectors', access: 'administrator', status: 201,
      summary: 'Creates a connector after validating all of it (settings, each mapping against its target, schedule)',
      body: z.object({ config: configIn }), response: detailOut.extend({ warnings: z.array(issue) }), errors: { 409: 'the id is taken' },
    },
    async ({ body }) => {
      const id = String(body.config.id ?? '');
      if (id && (await store.connectors.get(id))) throw new HttpError(409, `a connector with id "${id}" exists already; choose another id`);
      const { stored, warnings } = await save(body.config, undefined);
      return { ...detail(stored), warnings };
    },
  );

  api.route(
    {
      method: 'PUT', path: '/api/v1/connectors/:id', tag: 'connectors', access: 'administrator',
      summary: 'Replaces a connector atomically; refused with placed issues when anything is invalid, and with 409 when someone saved in between',
      body: z.object({ config: configIn, revision: z.number().int().optional() }), response: detailOut.extend({ warnings: z.array(issue) }),
      errors: { 404: 'no such connector', 409: 'changed by someone else since you loaded it' },
    },
    async ({ body, params }) => {
      const existing = await load(params.id!);
      if (body.config.id !== params.id) throw new HttpError(400, 'the id in the body differs from the one in the URL; a connector cannot be renamed, create a new one', { issues: [{ path: ['id'], message: 'the id cannot change' }] });
      const { stored, warnings } = await save(body.config, existing, body.revision);
      return { ...detail(stored), warnings };
    },
  );

  api.route(
    { method: 'DELETE', path: '/api/v1/connectors/:id', tag: 'connectors', access: 'administrator', summary: 'Deletes a connector with its stored secrets and links', status: 204, errors: { 404: 'no such connector', 409: 'a run of it is in progress or queued, on any instance' } },
    async ({ params }) => {
      await load(params.id!);
      const id = params.id!;
      // Runs and jobs of every instance sharing the store, not only this one's: the runs table and the queue.
      const elsewhere = await store.runs.active(id);
      if (elsewhere) throw new HttpError(409, `a run of this connector is in progress (run ${elsewhere.id}, ${elsewhere.kind}, started ${elsewhere.startedAt} by ${elsewhere.owner}); wait for it to finish before deleting`);
      const busy = await runs.busy(id);
      if (busy) throw new HttpError(409, `a run of this connector is in progress or queued: ${busy}; wait for it to finish before deleting`);
      await store.connectors.delete(id);
      await runs.forget(id);
      await (deps.onSchedulesChanged ?? (async () => deps.scheduler?.reload()))();
      return null;
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/connectors/validate', tag: 'connectors', access: 'administrator', summary: 'Validates a connector without saving it',
      body: z.object({ config: configIn }), response: z.object({ ok: z.boolean(), issues: z.array(issue), warnings: z.array(issue) }),
    },
    async ({ body }) => {
      const id = String(body.config.id ?? '');
      const existing = id ? await store.connectors.get(id) : undefined;
      const { config, missing, refused } = applySecretInput(body.config, existing, deps.secretRefs);
      const cached = discovered.get(id);
      const outcome = await validateConnector(config, services, cached ? { discoveredAttributes: cached } : {});
      const issues = [...missing.map((path) => ({ path, message: 'no value is stored for this secret yet; enter one' })), ...refused, ...outcome.errors.map((i) => plainMissing(i, config))];
      return { ok: issues.length === 0, issues, warnings: outcome.warnings };
    },
  );

  // ------------------------------------------------------------ pickers, preview, test

  api.route(
    {
      method: 'GET', path: '/api/v1/connectors/:id/attributes', tag: 'mapping', access: 'viewer',
      summary: "Source attributes for the mapping editor: the source type's known ones plus those discovered from the provider",
      response: z.object({ attributes: z.array(z.object({ path: z.string(), type: z.string(), description: z.string().optional() })), discovered: z.boolean(), error: z.string().optional() }),
    },
    async ({ params }) => {
      const c = await load(params.id!);
      let known: AttributeInfo[] = [];
      try {
        known = (await services.registry.source(c.config.source.type)).knownAttributes;
      } catch {
        /* unknown source type: only discovery can help */
      }
      try {
        const found = await services.engine.attributes(c.config);
        discovered.set(c.config.id, found);
        return { attributes: mergeAttributes(known, found), discovered: true };
      } catch (e) {
        return { attributes: known, discovered: false, error: `could not read attributes from the provider: ${errorText(e)}` };
      }
    },
  );

  api.route(
    {
      method: 'GET', path: '/api/v1/connectors/:id/user-search', tag: 'sync', access: 'viewer',
      summary: 'Users of the identity provider whose name, mail or UPN starts with q (an exact object id also matches), for the "Sync a user" picker',
      query: z.object({ q: z.string().default(''), limit: z.coerce.number().int().min(1).max(50).default(10) }),
      response: z.object({ users: z.array(userHitOut) }),
    },
    async ({ params, query }) => {
      const c = await load(params.id!);
      return { users: await services.engine.searchUsers(c.config, query.q, query.limit) };
    },
  );

  api.route(
    {
      method: 'GET', path: '/api/v1/connectors/:id/sample-users', tag: 'mapping', access: 'viewer', summary: 'Users read as a sync reads them, for previews: the user named exactly (UPN, mail, object id), else those whose name, mail or UPN starts with q, else the first ones',
      query: z.object({ q: z.string().default(''), limit: z.coerce.number().int().min(1).max(50).default(10) }), response: z.object({ users: z.array(sampleUserOut) }),
    },
    async ({ params, query }) => {
      const c = await load(params.id!);
      const users = await services.engine.sampleUsers(c.config, query.q, query.limit);
      return { users: users.map((u) => ({ id: u.id, label: labelOf(u), attrs: asJson(u.attrs) as Record<string, unknown>, ...(u.groups ? { groups: u.groups } : {}) })) };
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/connectors/:id/mapping/preview', tag: 'mapping', access: 'administrator',
      summary: 'Evaluates mapping rows against one sample user from the source (the first match of userRef, or the first user)',
      body: z.object({ targetId: z.string().optional(), targetType: z.string().optional(), rules: z.array(ruleIn).max(500), userRef: z.string().optional() }),
      response: z.object({ user: sampleUserOut.nullable(), results: z.array(previewOut) }),
    },
    async ({ params, body }) => {
      const c = await load(params.id!);
      const targetType = body.targetType ?? c.config.targets.find((t) => t.id === body.targetId)?.type ?? c.config.targets[0]!.type;
      const capabilities = (await services.registry.target(targetType)).capabilities;
      const [user] = await services.engine.sampleUsers(c.config, body.userRef ?? '', 1);
      if (!user) return { user: null, results: body.rules.map(() => ({ ok: false, error: body.userRef ? `no user matches "${body.userRef}"` : 'the source has no user to preview with' })) };
      const results = [];
      for (const rule of body.rules) {
        try {
          results.push(await services.mapping.preview(rule, user, capabilities));
        } catch (e) {
          results.push({ ok: false as const, error: errorText(e) });
        }
      }
      return { user: { id: user.id, label: labelOf(user), attrs: asJson(user.attrs) as Record<string, unknown>, ...(user.groups ? { groups: user.groups } : {}) }, results };
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/connectors/:id/group-rules/preview', tag: 'mapping', access: 'administrator',
      summary: "What a target's group rules make of one sample user's groups: the groups they receive (from the source, or the target's groups mapping rule), the rule that decided each, and the resulting groups",
      body: z.object({
        targetId: z.string().optional(),
        targetType: z.string().optional(),
        groupRules: groupRulesSchema,
        /** The mapping being edited, for its `groups` rule; the stored target's when absent. */
        rules: z.array(ruleIn).max(500).optional(),
        userRef: z.string().optional(),
      }),
      response: z.object({ user: sampleUserOut.nullable(), preview: groupRulesPreviewOut.nullable(), error: z.string().optional() }),
    },
    async ({ params, body }) => {
      const c = await load(params.id!);
      const at = Math.max(0, c.config.targets.findIndex((t) => t.id === body.targetId));
      const stored = c.config.targets[at]!;
      const targetType = body.targetType ?? stored.type;
      const def = await services.registry.target(targetType);
      const capabilities = def.capabilities;
      if (!capabilities.fields.some((f) => f.name === 'groups')) {
        return { user: null, preview: null, error: `${def.label} has no group memberships idsync can write, so group rules do not apply to it` };
      }
      // The sample is read with its groups whatever the saved rules ask for: the rules being
      // edited may need them before they are saved.
      const readsGroups = { rules: [], dropUnmatched: false, defaultGroups: [] };
      const withGroups = { ...c.config, targets: c.config.targets.map((t, i) => (i === at ? { ...t, groupRules: readsGroups } : t)) };
      const [user] = await services.engine.sampleUsers(withGroups, body.userRef ?? '', 1);
      if (!user) return { user: null, preview: null, error: body.userRef ? `no user matches "${body.userRef}"` : 'the source has no user to preview with' };
      const mapping = body.rules ?? stored.mapping;
      const preview = await services.mapping.previewGroupRules(body.groupRules, user, capabilities, mapping);
      return { user: { id: user.id, label: labelOf(user), attrs: asJson(user.attrs) as Record<string, unknown>, ...(user.groups ? { groups: user.groups } : {}) }, preview };
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/mapping/validate', tag: 'mapping', access: 'administrator', summary: "Validates a mapping table against a target type's capabilities",
      body: z.object({ targetType: z.string(), sourceType: z.string().optional(), connectorId: z.string().optional(), rules: z.array(ruleIn).max(500) }),
      response: z.object({ issues: z.array(z.object({ row: z.number(), field: z.string(), message: z.string(), position: z.number().optional(), severity: z.enum(['error', 'warning']) })) }),
    },
    async ({ body }) => {
      const capabilities = (await services.registry.target(body.targetType)).capabilities;
      let attributes: AttributeInfo[] | undefined;
      if (body.sourceType) {
        const known = (await services.registry.source(body.sourceType)).knownAttributes;
        const found = discovered.get(body.connectorId ?? '');
        if (found) attributes = mergeAttributes(known, found);
      }
      return { issues: await services.mapping.validate({ rules: body.rules, capabilities, ...(attributes ? { attributes } : {}) }) };
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/connectors/:id/test', tag: 'connectors', access: 'administrator', summary: 'Tests both ends of the stored connector; each check says what failed',
      response: z.object({ ok: z.boolean(), source: json, targets: z.record(z.string(), json) }),
    },
    async ({ params }) => services.engine.testConnection((await load(params.id!)).config),
  );

  // ------------------------------------------------------------ sync triggers

  api.route(
    {
      method: 'POST', path: '/api/v1/connectors/:id/sync', tag: 'sync', access: 'administrator',
      summary: `Full sync, simulation (dryRun) or single-user sync. Full runs answer 202 once claimed (follow /activity), or 409 while a run is in progress; a user sync waits its turn behind a running one (up to ${waitText(USER_SYNC_QUEUE.waitMs)}) and answers with its step-by-step report`,
      body: z
        .object({ kind: z.enum(['full', 'user', 'incremental']), dryRun: z.boolean().default(false), userRef: z.string().trim().min(1).optional() })
        .refine((b) => b.kind !== 'user' || b.userRef, { message: 'name the user to sync (UPN, mail or object id)', path: ['userRef'] }),
      response: z.object({ run: runOut.optional(), user: json.optional(), active: activeOut.optional() }),
      errors: { 202: 'full sync started (its run is claimed)', 409: 'a run of this connector is in progress (a user sync is refused only after waiting its turn)' },
    },
    async ({ params, body, reply, principal }) => {
      const c = await load(params.id!);
      // A browser session is the admin UI; an API token is a script.
      const trigger = principal?.via === 'session' ? 'ui' : 'api';
      // A full or incremental sync answers once claimed; only a single-user sync answers with its result.
      if (body.kind === 'full' || body.kind === 'incremental') {
        const active = await runs.startInBackground({ connector: c.config, kind: body.kind, dryRun: body.dryRun, trigger });
        reply.code(202);
        return reply.send({ active });
      }
      const result = await runs.start({ connector: c.config, kind: 'user', dryRun: body.dryRun, userRef: body.userRef!, trigger });
      return result;
    },
  );

  api.route(
    { method: 'GET', path: '/api/v1/connectors/:id/activity', tag: 'sync', access: 'viewer', summary: 'Live progress of the running sync (users read, planned, written, failed) and the last outcome', response: activityOut },
    async ({ params }) => {
      await load(params.id!);
      return runs.activity(params.id!);
    },
  );
}

/** What the secret-reference schema says about a secret that is not there at all. */
const SECRET_ABSENT = secretRefSchema.safeParse(undefined).error?.issues[0]?.message;

/**
 * A setting left empty comes back from the schema as "Invalid input: expected string, received
 * undefined", which reads as if something wrong had been typed; next to the empty field the
 * administrator needs to read that it is required. The same for a required secret left empty
 * (a certificate's private key, formLogin's password): its schema's message ("a secret must be
 * given as {env: VAR}, {file: PATH} or set in the UI; it is never written inline") suggested a
 * value had been typed inline.
 */
function plainMissing(issue: FieldIssue, config: Record<string, unknown>): FieldIssue {
  const absentSecret = issue.message === SECRET_ABSENT && valueAt(config, issue.path) === undefined;
  return absentSecret || /^Invalid input: expected \w+, received undefined$/.test(issue.message) ? { ...issue, message: 'required: enter a value' } : issue;
}

function valueAt(v: unknown, path: Array<string | number>): unknown {
  return path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), v);
}

function safeJsonSchema(schema: z.ZodType): unknown {
  try {
    const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    return rest;
  } catch {
    return undefined;
  }
}
