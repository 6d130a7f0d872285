// Table shapes as Kysely sees them. Portable between SQLite and PostgreSQL: timestamps are
// ISO-8601 text, booleans are 0/1 integers, JSON is text. Migrations live in ./migrations.ts.

export interface ConnectorsTable {
  id: string;
  name: string;
  /** ConnectorConfig as JSON; secret settings hold references ({env}|{file}|{stored}), never values. */
  config: string;
  /** Incremented on every save; lets the UI detect a concurrent edit. */
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface SecretsTable {
  connector_id: string;
  name: string;
  /** AES-256-GCM: base64(iv | tag | ciphertext). */
  value: string;
  updated_at: string;
}

export interface LinksTable {
  connector_id: string;
  target_id: string;
  /** The identity provider's immutable id. */
  source_id: string;
  /** The target's immutable id (Jira user key, account id). */
  target_key: string;
  target_username: string | null;
  /** Display label for searching results (display name or UPN). */
  label: string | null;
  /** Last-applied snapshot: JSON FieldValues as idsync last wrote or observed them. */
  applied: string;
  /** Group names idsync itself added (JSON string[]); only these are ever removed. */
  managed_groups: string;
  missing_since: string | null;
  /** See Link.fingerprint. */
  fingerprint: string | null;
  /** JSON CleanupState (links.ts): what cleanup did to the account; null when in step. */
  cleanup: string | null;
  /** CleanupState.deleteDueAt, as a column so due deletions are found by an index. */
  delete_due_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface RunsTable {
  id: string;
  connector_id: string;
  kind: string;
  dry_run: number;
  reconcile: number;
  trigger: string;
  status: string;
  user_ref: string | null;
  started_at: string;
  finished_at: string | null;
  /** JSON RunCounts. */
  counts: string;
  error: string | null;
  /** Last sign of life of the process running it (see RunRepo.heartbeat). */
  heartbeat_at: string | null;
  /** The process running it (RunOwner in run-owner.ts); null for runs of an older idsync. */
  owner_host: string | null;
  owner_pid: number | null;
  owner_token: string | null;
  owner_pid_space: string | null;
  owner_start_ticks: string | null;
  /** The queue job this run does (src/jobs), so a dead run's job can be handed on; null for runs not started by a job. */
  job_id: string | null;
  /** Something the run says beside its status (e.g. it fell back to a full read). */
  notice: string | null;
  /** JSON QuarantineSummary (runs.ts) when the run quarantined its cleanup. */
  quarantine: string | null;
}

/** One claimed schedule slot (src/jobs/slots.ts): the row's existence is the claim. */
export interface ScheduleSlotsTable {
  connector_id: string;
  /** 'full' (cron) or 'incremental' (interval). */
  kind: string;
  /** ISO time of the slot. */
  slot: string;
  claimed_by: string;
  claimed_at: string;
}

export interface RunItemsTable {
  run_id: string;
  seq: number;
  source_id: string | null;
  label: string | null;
  target_id: string | null;
  operation: string;
  error: string | null;
  /** JSON FieldChange[]. */
  changes: string | null;
  /** JSON: extra per-user detail (steps of a single-user sync, skipped reasons). */
  details: string | null;
}

export interface StateTable {
  connector_id: string;
  key: string;
  value: string;
  updated_at: string;
}

/** A write about to be sent to a target user; see src/store/intents.ts. */
export interface WriteIntentsTable {
  connector_id: string;
  target_id: string;
  source_id: string;
  /** The run that recorded it (the run that died, when the row outlives it). */
  run_id: string;
  op: string;
  /** Known for an update; a create learns it only from the target. */
  target_key: string | null;
  /** What a create sends, to find the account again when its answer was lost. */
  username: string | null;
  email: string | null;
  label: string | null;
  /** JSON string[]: memberships the write adds, idsync's even when the run died. */
  groups_add: string;
  created_at: string;
}

/** The shadow of the directory; see src/store/shadow.ts. */
export interface ShadowUsersTable {
  /**
   * Stable number of the row, assigned by the store on insert, never written by idsync (a read's
   * marks are one bit per number: engine/seen-marks.ts). Optional for Kysely, as a generated column
   * is (a PostgreSQL bigint comes back as a string: read it with Number()).
   */
  row_no?: number | string;
  connector_id: string;
  source_id: string;
  /** JSON ShadowRecord (attrs, groups, manager, keys); null for a tombstone of a user never read. */
  record: string | null;
  /** Of the record and tombstone together: a read that brings the same fingerprint changes nothing. */
  fingerprint: string;
  /** The manager's source id, resolved at ingest (indexed: a manager's reports). */
  manager_id: string | null;
  tombstone: string | null;
  tombstone_at: string | null;
  /** 1: ingested but not yet projected into every target (a run failed or died since). */
  pending: number;
  updated_at: string;
}

export interface ShadowKeysTable {
  connector_id: string;
  key_type: string;
  key_value: string;
  source_id: string;
}

/** A group as last read from the provider (src/store/shadow-groups.ts). */
export interface ShadowGroupsTable {
  connector_id: string;
  group_id: string;
  /** Display name as last read (kept on a tombstone: what its members lost). */
  name: string;
  fingerprint: string;
  /** deleted | not-returned; null while the group exists. */
  tombstone: string | null;
  tombstone_at: string | null;
  updated_at: string;
}

/** One group name of one live shadow user (the record's `groups`), for finding a group's members by name. */
export interface ShadowUserGroupsTable {
  connector_id: string;
  group_name: string;
  source_id: string;
}

/** Ids a run's full read returned that have no shadow row (scratch, while the run lasts; see store/shadow.ts SeenRepo). */
export interface RunSeenTable {
  run_id: string;
  source_id: string;
  /** 1: returned in scope; 0: returned, but outside the connector's scope. */
  in_scope: number;
}

export interface ShadowStateTable {
  connector_id: string;
  checkpoint: string | null;
  /** Hash of the query the checkpoint was taken with (engine/ingest.ts queryKeyOf). */
  checkpoint_key: string | null;
  /** Hash of the query every live shadow record was read with; null when mixed or not known. */
  records_query_key: string | null;
  /** Hash of the mappings last projected to every live shadow user (engine/ingest.ts mappingsKeyOf). */
  projected_key: string | null;
  complete_read_at: string | null;
  updated_at: string;
}

/** A cleanup held back for an administrator (src/store/quarantine.ts). */
export interface CleanupQuarantinesTable {
  id: string;
  connector_id: string;
  /** open | approved | rejected */
  status: string;
  /** empty-read | read-drop | threshold */
  reason: string;
  message: string;
  /** The run that quarantined it. */
  run_id: string;
  affected: number;
  created_at: string;
  closed_at: string | null;
  closed_by: string | null;
}

export interface CleanupQuarantineUsersTable {
  quarantine_id: string;
  connector_id: string;
  target_id: string;
  source_id: string;
  label: string | null;
  target_key: string;
  target_username: string | null;
  /** The step the cleanup policy planned (disable, delete, anonymise, removeAccess). */
  planned: string;
  /** deleted | disabled | outOfScope */
  reason: string;
  /** held | done | skipped | rejected */
  state: string;
  note: string | null;
  /** The approval run that acted on it. */
  run_id: string | null;
  /** A held group-membership removal (reason group-removal): the target groups kept, JSON array. */
  groups: string | null;
}

export interface Database {
  connectors: ConnectorsTable;
  secrets: SecretsTable;
  links: LinksTable;
  runs: RunsTable;
  run_items: RunItemsTable;
  state: StateTable;
  write_intents: WriteIntentsTable;
  schedule_slots: ScheduleSlotsTable;
  shadow_users: ShadowUsersTable;
  shadow_keys: ShadowKeysTable;
  shadow_state: ShadowStateTable;
  shadow_groups: ShadowGroupsTable;
  shadow_user_groups: ShadowUserGroupsTable;
  run_seen: RunSeenTable;
  cleanup_quarantines: CleanupQuarantinesTable;
  cleanup_quarantine_users: CleanupQuarantineUsersTable;
}
