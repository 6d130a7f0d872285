// The configuration model: connectors, each one source and one or more targets, with a
// mapping table per target. The same model comes from a YAML file (CLI) or from the store
// (UI/API). Source and target settings are validated by their own module's schema
// (see src/sources/registry.ts and src/targets/registry.ts); this file holds what is common.
import { z } from 'zod';
import './unknown-keys.ts'; // unknown keys are refused with the nearest known one named
import { matchingSchema } from './matching.ts';
import { notificationsSchema } from '../notify/config.ts';
import { groupRulesSchema } from './group-rules.ts';
import { cleanupSchema } from './cleanup-schema.ts';

export const mappingRuleSchema = z
  .object({
    target: z.string().min(1, 'target field is required'),
    source: z.string().min(1, 'source attribute or expression is required'),
    default: z.any().optional(),
    flow: z.enum(['always', 'onCreate', 'ifEmpty']).default('always'),
    whenEmpty: z.enum(['keep', 'clear']).default('keep'),
  })
  .strict();

export const scheduleSchema = z
  .object({
    cron: z.string().min(1),
    timezone: z.string().default('UTC'),
    enabled: z.boolean().default(true),
    /**
     * Where the source has a change feed (Entra's delta): how often an incremental sync brings
     * what changed, as `30s`, `1m`, `15m`, `1h` (at least 10 s); `false` turns it off. The cron
     * schedule's full syncs go on beside it.
     */
    incremental: z
      .union([z.literal(false), z.string().regex(/^[1-9][0-9]*(s|m|h)$/, 'use a duration such as 30s, 1m, 15m or 1h, or false to turn incremental sync off')])
      .default('1m'),
  })
  .strict();

/**
 * Settings every target has, whatever its type. Type-specific keys pass through here and are
 * checked by the target module's schema (see targetSettingsSchema).
 */
export const targetBaseSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
    type: z.string().min(1),
    mapping: z.array(mappingRuleSchema).default([]),
    /** Which source groups reach this target, renamed how, and default groups (README "Group rules"). */
    groupRules: groupRulesSchema.optional(),
    /** Create users that do not exist in the target yet. */
    createUsers: z.boolean().default(true),
    /** Create groups that a mapping produces but the target lacks. */
    createMissingGroups: z.boolean().default(false),
    /** Parallel write requests to this target. */
    concurrency: z.number().int().min(1).max(64).default(8),
    /** How a user without a link is matched to an existing account (src/config/matching.ts). */
    matching: matchingSchema.optional(),
    /** What happens to linked users the identity provider no longer gives (src/config/cleanup-schema.ts). */
    cleanup: cleanupSchema.optional(),
  })
  .passthrough();

export const sourceBaseSchema = z
  .object({
    type: z.string().min(1),
    /** Only members of these groups (display names) are synced. */
    requiredGroups: z.array(z.string()).default([]),
  })
  .passthrough();

/**
 * A target type's settings: the common ones and the type's own, nothing else. The common model
 * above lets type-specific keys through; this is where an unknown one is refused.
 */
export function targetSettingsSchema<S extends z.ZodRawShape>(shape: S) {
  return targetBaseSchema.extend(shape).strict();
}

export const connectorSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
    name: z.string().optional(),
    source: sourceBaseSchema,
    targets: z.array(targetBaseSchema).min(1, 'a connector needs at least one target'),
    schedule: scheduleSchema.optional(),
    /**
     * The one safety threshold: more than `maxUsers` AND more than `maxPercent` % of the base is
     * too much for one run. A complete read that leaves out that many linked users is taken for
     * a bad read (src/engine/read-guard.ts); account removals (cleanups, deactivations) and group
     * memberships removed from one managed target group (base: its managed members;
     * src/engine/group-removal-guard.ts) past it are quarantined for an administrator.
     * Defaults: 20 users and 10%.
     */
    safety: z
      .object({
        maxUsers: z
          .number({ error: 'safety.maxUsers must be a number of users (default 20)' })
          .int('safety.maxUsers must be a whole number of users (default 20)')
          .min(0, 'safety.maxUsers must be 0 or more: more than this many users removed in one run (and more than maxPercent %) is held for approval')
          .optional(),
        maxPercent: z
          .number({ error: 'safety.maxPercent must be a percentage, 0 to 100 (default 10)' })
          .min(0, 'safety.maxPercent must be a percentage from 0 to 100 (default 10)')
          .max(100, 'safety.maxPercent must be a percentage from 0 to 100 (default 10): above 100 nothing would ever be held')
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const configFileSchema = z
  .object({
    version: z.literal(1).default(1),
    connectors: z.array(connectorSchema).min(1, 'the file defines no connector'),
    notifications: notificationsSchema.optional(), // where failed runs and quarantines are told (src/notify/config.ts)
  })
  .strict();

export type MappingRuleConfig = z.infer<typeof mappingRuleSchema>;
export type TargetConfig = z.infer<typeof targetBaseSchema>;
export type SourceConfig = z.infer<typeof sourceBaseSchema>;
export type ConnectorConfig = z.infer<typeof connectorSchema>;
export type ConfigFile = z.infer<typeof configFileSchema>;
