// The server's view of the modules it drives: the sync engine, the mapper and the connector
// registries. Everything the routes need goes through these small interfaces, so tests hand in
// fakes and the real modules are wired in one place (defaultServices).
import type { ConnectorConfig } from '../config/schema.ts';
import type { AttributeInfo, Json, MappingRule, SourceUser, TargetCapabilities, UserHit } from '../core/types.ts';
import type { ApproveQuarantineRequest, ApproveQuarantineResult, ConnectionReport, SyncRequest, SyncResult } from '../engine/api.ts';
import type { EngineDeps } from '../engine/quarantine.ts';
import type { MappingIssue, MappingValidationInput, PreviewResult } from '../mapping/api.ts';
import type { GroupRulesPreview } from '../mapping/group-rules-preview.ts';
import type { GroupRulesConfig } from '../config/group-rules.ts';
import type { ConnectorContext, SourceDefinition } from '../sources/registry.ts';
import type { TargetDefinition } from '../targets/registry.ts';
import type { Store } from '../store/index.ts';
import { IdsyncError } from '../core/errors.ts';

export interface EngineService {
  run(req: SyncRequest): Promise<SyncResult>;
  testConnection(connector: ConnectorConfig): Promise<ConnectionReport>;
  /** Attributes discovered from the connector's identity provider (the source picker). */
  attributes(connector: ConnectorConfig): Promise<AttributeInfo[]>;
  /** A few users matching `query` (name, mail, UPN), read the way a sync reads them. */
  sampleUsers(connector: ConnectorConfig, query: string, limit: number): Promise<SourceUser[]>;
  /** Users whose name, mail or UPN starts with `text` (the "Sync a user" picker). */
  searchUsers(connector: ConnectorConfig, text: string, limit: number): Promise<UserHit[]>;
  /** Approves a quarantined cleanup (all, or the users of `sourceIds`), re-checking each user (src/engine/quarantine.ts). */
  approveQuarantine?(req: ApproveQuarantineRequest): Promise<ApproveQuarantineResult>;
}

export interface MappingService {
  validate(input: MappingValidationInput): Promise<MappingIssue[]>;
  /** Evaluates one rule for one user, as the sync would (without target lookups). */
  preview(rule: MappingRule, user: SourceUser, capabilities: TargetCapabilities): Promise<PreviewResult>;
  /** What a target's group rules make of one user's groups, rule by rule (src/mapping/group-rules-preview.ts). */
  previewGroupRules(groupRules: GroupRulesConfig, user: SourceUser, capabilities: TargetCapabilities, mapping: MappingRule[]): Promise<GroupRulesPreview>;
}

export interface RegistryService {
  sourceTypes: string[];
  targetTypes: string[];
  source(type: string): Promise<SourceDefinition>;
  target(type: string): Promise<TargetDefinition>;
}

export interface Services {
  engine: EngineService;
  mapping: MappingService;
  registry: RegistryService;
}

const notAvailable = (what: string) =>
  new IdsyncError('CONFIG', `${what} is not available in this build of idsync`, { hint: 'update idsync; this module is still being written' });

/** Wires the real engine, mapper and registries. Modules still missing answer with a clear error. */
export async function defaultServices(store: Store, ctx: ConnectorContext = {}, engineDeps: EngineDeps = {}): Promise<Services> {
  const sources = await import('../sources/registry.ts');
  const targets = await import('../targets/registry.ts');
  const registry: RegistryService = {
    sourceTypes: sources.sourceTypes,
    targetTypes: targets.targetTypes,
    source: sources.sourceDefinition,
    target: targets.targetDefinition,
  };
  return { engine: await realEngine(store, ctx, engineDeps), mapping: await realMapping(), registry };
}

async function realEngine(store: Store, ctx: ConnectorContext, engineDeps: EngineDeps): Promise<EngineService> {
  let mod: Record<string, any>;
  try {
    mod = await import('../engine/engine.ts' as string);
  } catch {
    const fail = async (): Promise<never> => {
      throw notAvailable('the sync engine');
    };
    return { run: fail, testConnection: fail, attributes: fail, sampleUsers: fail, searchUsers: fail };
  }
  // engineDeps.onQuarantine: where notifications of a quarantined cleanup hang (the caller wires them).
  const engine = new mod.SyncEngine(store, ctx, engineDeps);
  return {
    run: (req) => engine.run(req),
    testConnection: (c) => engine.testConnection(c),
    attributes: (c) => engine.attributes(c),
    sampleUsers: async (c, query, limit) => ((await engine.sampleUsers(c, query, limit)) as SourceUser[]).slice(0, limit),
    searchUsers: (c, text, limit) => engine.searchUsers(c, text, limit),
    approveQuarantine: (req) => engine.approveQuarantine(req),
  };
}

async function realMapping(): Promise<MappingService> {
  let mod: Record<string, any>;
  try {
    mod = await import('../mapping/index.ts' as string);
  } catch {
    return {
      validate: async () => [],
      preview: async () => ({ ok: false, error: 'mapping preview is not available in this build' }),
      previewGroupRules: async () => {
        throw notAvailable('the group rules preview');
      },
    };
  }
  return {
    validate: async (input) => (await mod.validateMapping(input)) as MappingIssue[],
    preview: async (rule, user, capabilities) => (await mod.previewRule(rule, user, capabilities)) as PreviewResult,
    previewGroupRules: async (groupRules, user, capabilities, mapping) => (await mod.previewGroupRules(groupRules, user, { capabilities, mapping })) as GroupRulesPreview,
  };
}

/** Values shown in a preview are JSON; anything else is turned into its JSON form. */
export function asJson(v: unknown): Json | undefined {
  return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as Json);
}
