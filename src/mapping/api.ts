// The mapper's contract with the engine and the UI. Implemented in ./index.ts.
import type { AttributeInfo, FieldValues, Json, MappingRule, SourceQuery, SourceUser, TargetCapabilities, TargetFieldName } from '../core/types.ts';

/** One problem in a mapping table, placed so the UI can show it next to the row and field. */
export interface MappingIssue {
  /** Index of the rule in the table; -1 for an issue about the table as a whole (a required field no rule maps). */
  row: number;
  field: 'target' | 'source' | 'default' | 'flow' | 'whenEmpty';
  message: string;
  /** 0-based character offset inside `source`, for expression syntax errors. */
  position?: number;
  severity: 'error' | 'warning';
}

/** Lookups the engine provides while evaluating: the manager's username in this target. */
export interface MappingContext {
  /**
   * The target username linked to a source user id: a string when known, null when that user
   * is not synced to this target, undefined when not known yet (the engine retries later in the run).
   */
  targetUsernameOf(sourceId: string): string | null | undefined;
}

export interface MappedUser {
  /** Desired target values; null means "clear this field" (whenEmpty: clear). */
  values: FieldValues;
  /** Flow of each field present in `values` (the planner applies onCreate / ifEmpty). */
  flows: Record<TargetFieldName, MappingRule['flow']>;
  /** Fields that depend on a reference not resolved yet (e.g. a manager created later this run). */
  pending: TargetFieldName[];
  /** Rules that failed for this user (bad value, expression error, timeout); the user fails with these. */
  errors: Array<{ field: TargetFieldName; message: string }>;
}

export interface CompiledMapping {
  rules: readonly MappingRule[];
  /** What the source must fetch for these rules ($select, groups, manager). */
  needs: Pick<SourceQuery, 'attributes' | 'groups' | 'manager'>;
  evaluate(user: SourceUser, ctx: MappingContext): Promise<MappedUser>;
}

export interface MappingValidationInput {
  rules: MappingRule[];
  capabilities: TargetCapabilities;
  /** Attributes the source is known to have; when given, unknown paths are reported. */
  attributes?: AttributeInfo[];
}

export type PreviewResult =
  /** `pending`: the value depends on a reference not known yet (e.g. the manager's target username). */
  | { ok: true; value: Json | undefined; empty: boolean; pending?: boolean }
  | { ok: false; error: string };
