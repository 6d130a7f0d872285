// Turns a connector configuration into live parts: the source connector, each target connector
// with its compiled mapping, and the source query the mappings need.
import { createHash } from 'node:crypto';
import type { ConnectorConfig, TargetConfig } from '../config/schema.ts';
import type { SourceConnector, SourceQuery, TargetCapabilities, TargetConnector } from '../core/types.ts';
import type { CompiledMapping } from '../mapping/api.ts';
import { compileMapping } from '../mapping/index.ts';
import { sourceDefinition, type ConnectorContext } from '../sources/registry.ts';
import { capabilitiesOf, targetDefinition } from '../targets/registry.ts';
import { parseSection } from '../config/validate.ts';
import { referencedPaths } from '../mapping/needs.ts';
import { matchingAttributes, matchPolicy, type MatchPolicy } from './matching.ts';

export interface TargetRuntime {
  config: TargetConfig;
  connector: TargetConnector;
  capabilities: TargetCapabilities;
  mapping: CompiledMapping;
  /** Fields the mapping writes; asked of findUser / readUser. */
  fields: string[];
  /** Whether a rule reads a linked username (manager.targetUsername, $targetUsername). */
  resolvesUsernames: boolean;
  /** Identifies the mapping; part of every user's fingerprint, so a mapping change re-maps everyone. */
  mappingHash: string;
  /** How a user without a link is matched to an existing account (src/engine/matching.ts). */
  matching: MatchPolicy;
}

export interface Runtime {
  connector: ConnectorConfig;
  source: SourceConnector;
  targets: TargetRuntime[];
  query: Omit<SourceQuery, 'signal'>;
  requiredGroups: string[];
  /**
   * The manager's attributes the mappings read (`manager.mail` → `mail`), or null when a rule
   * may read any of them: the manager view holds only these, so what a report's fingerprint
   * covers does not depend on where the view came from (the shadow, or the reference's attrs).
   */
  managerFields: string[] | null;
  close(): Promise<void>;
}

export async function buildRuntime(connector: ConnectorConfig, ctx: ConnectorContext): Promise<Runtime> {
  const where = `connector ${connector.id}`;
  const sourceDef = await sourceDefinition(connector.source.type);
  const sourceConfig = parseSection(sourceDef.configSchema, connector.source, `${where}: source`);
  const source = sourceDef.create(sourceConfig, { ...ctx, connectorId: connector.id });

  const targets: TargetRuntime[] = [];
  for (const t of connector.targets) {
    const def = await targetDefinition(t.type);
    const config = parseSection(def.configSchema, t, `${where}: target ${t.id}`) as TargetConfig;
    const capabilities = capabilitiesOf(def, config);
    const mapping = compileMapping(config.mapping, capabilities, { groupRules: config.groupRules });
    targets.push({
      config,
      // Tagged in place: the HTTP client builds a fresh record per request (no copy per request).
      connector: def.create(config, ctx.recorder ? { ...ctx, recorder: (r) => { r.connector = connector.id; r.target = t.id; ctx.recorder!(r); } } : ctx),
      capabilities,
      mapping,
      // Group rules produce `groups` even without a `groups` mapping rule.
      fields: [...new Set([...config.mapping.map((r) => r.target), ...(config.groupRules ? ['groups'] : [])])],
      resolvesUsernames: config.mapping.some((r) => r.source.includes('targetUsername')),
      mappingHash: createHash('sha1').update(JSON.stringify([t.type, config.mapping, ...(config.groupRules ? [config.groupRules] : [])])).digest('base64url'),
      matching: matchPolicy(config.matching, capabilities),
    });
  }

  const requiredGroups = connector.source.requiredGroups ?? [];
  const attributes = new Set<string>();
  let groups = requiredGroups.length > 0;
  let manager = false;
  for (const t of targets) {
    t.mapping.needs.attributes.forEach((a) => attributes.add(a));
    groups ||= t.mapping.needs.groups;
    manager ||= t.mapping.needs.manager;
    // A match key may read a source attribute no rule reads (say, the old account name).
    matchingAttributes(t.matching).forEach((a) => attributes.add(a));
  }

  return {
    connector,
    source,
    targets,
    requiredGroups,
    query: { attributes: [...attributes], groups, manager },
    managerFields: managerFieldsOf(connector.targets.flatMap((t) => t.mapping.map((r) => r.source))),
    async close() {
      await Promise.allSettled([source.close?.(), ...targets.map((t) => t.connector.close?.())]);
    },
  };
}

/** See Runtime.managerFields. */
function managerFieldsOf(sources: string[]): string[] | null {
  const fields = new Set<string>();
  for (const source of sources) {
    if (typeof source !== 'string') continue;
    const { paths, wholeRecord } = referencedPaths(source);
    if (wholeRecord) return null;
    for (const path of paths) {
      const [top, field] = path.split('.');
      if (top !== 'manager') continue;
      if (!field) return null; // the whole manager object
      if (field !== 'targetUsername' && field !== 'id') fields.add(field);
    }
  }
  return [...fields].sort();
}
