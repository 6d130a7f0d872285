// Domain contracts shared by sources, targets, the mapper and the engine.
// Everything that crosses a module boundary is declared here, so a new source or
// target is written against this file alone.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Outcome of "Test connection": ok, or the first thing that failed, in words an admin can act on. */
export interface TestResult {
  ok: boolean;
  /** One line per check, e.g. "token: ok", "read users: missing permission User.Read.All". */
  checks: Array<{ name: string; ok: boolean; message: string }>;
}

// ---------------------------------------------------------------- sources

/**
 * Another name by which a provider's records refer to a user: an LDAP manager is a DN, a
 * Google relation an e-mail address. A source that uses such references gives each user its
 * `keys`, and the engine resolves a reference through its shadow of the directory.
 */
export type SourceKeyType = 'dn' | 'email' | 'username';

/**
 * A user's manager as the provider refers to it: by the manager's own id (Entra, Okta), or by
 * another key (an LDAP DN). The engine resolves it through its shadow of the directory, so the
 * mapping's `manager.*` paths read the manager's current record. `attrs` is what the source
 * read of the manager along with the reference (Entra's `/manager`), used when the manager is
 * not in the shadow (e.g. outside the connector's filter).
 */
export type ManagerRef =
  | { id: string; attrs?: Record<string, unknown> }
  | { key: SourceKeyType; value: string; attrs?: Record<string, unknown> };

/** A user as read from an identity provider. `id` is the provider's immutable id. */
export interface SourceUser {
  id: string;
  /** Attributes as the provider returns them (nested objects kept); never the manager (see `manager`). */
  attrs: Record<string, unknown>;
  /** Group display names, when the mapping asked for groups. */
  groups?: string[];
  /** The manager, when the query asked for it: a reference, or null when the user has none. */
  manager?: ManagerRef | null;
  /** The user's other names that the provider's references use (see SourceKeyType). */
  keys?: Partial<Record<SourceKeyType, string>>;
  /**
   * Set by `getUser` only, when the source's own scope (e.g. the connector's filter) leaves
   * this user out of a full read: why, said for the administrator. A listing never returns such users.
   */
  outOfScope?: string;
}

/** One page of a full read. */
export interface UserPage {
  users: SourceUser[];
  /**
   * Set on the last page only, when the provider confirmed that the read returned every user
   * in scope (e.g. Graph's count matched). A read that ends without it is not complete: the
   * engine then marks nobody gone. A source that cannot confirm sets it when its paging ended
   * normally; it throws when anything failed.
   */
  complete?: true;
  /**
   * On the complete last page, from sources that know them: every group in the connector's
   * scope (id and display name; members not needed), the names users' `groups` carry. The
   * engine keeps them in its shadow of groups, so a change feed that later names a group by id
   * (renamed, deleted) tells whose records to change; groups a complete read no longer lists
   * get a tombstone. Absent: the shadow of groups is left as it is.
   */
  groupList?: SourceGroup[];
}

/** Why the provider says a user is gone. */
export type RemovalReason =
  /** Deleted but restorable (Entra's `@removed: {reason: "changed"}`: in deleted items). */
  | 'soft-deleted'
  /** Gone for good (Entra's `"deleted"`, a 404 on a single read). */
  | 'deleted'
  /** Still in the provider, but no longer in the connector's scope (its filter no longer matches). */
  | 'out-of-scope';

export interface SourceRemoval {
  id: string;
  reason: RemovalReason;
}

/**
 * A change of one group, as a delta reports it: its members (user ids of the provider), its
 * display name when the page carries it (a name other than the shadow's is a rename: the engine
 * gives the members the new name), or its deletion (the members lose its name).
 */
export interface GroupChange {
  id: string;
  /** The group's display name, when the page carries it. */
  name?: string;
  added: string[];
  removed: string[];
  /** The group itself was deleted. */
  deleted?: boolean;
  /**
   * The group no longer matches the connector's group filter (renamed out of it): for the
   * connector it is gone, so its members lose it as for a deletion (the provider keeps it).
   */
  left?: boolean;
}

/** One page of an incremental read (`changes`). */
export interface ChangePage {
  /** Users new or changed since the checkpoint, as full records for the query. */
  users: SourceUser[];
  /** Users the provider says are gone. */
  removed: SourceRemoval[];
  /** Group membership changes, when the query asked for groups. */
  groups?: GroupChange[];
  /**
   * Set on the last page only: the checkpoint that continues after everything this read
   * returned. The engine stores it only once all of the read is applied.
   */
  checkpoint?: string;
  /**
   * Set on the last page when this read returned every user in scope (a seeding round from
   * no checkpoint), so that users it did not return are gone as after a complete full read.
   */
  complete?: true;
  /** With `complete`: the groups in scope, as on a full read's last page (UserPage.groupList). */
  groupList?: SourceGroup[];
  /**
   * The source's census of groups (a declared capability: sources that read every group in the
   * connector's scope in a change round anyway): on the last page of a round from a checkpoint,
   * with `query.groups`, the ids of every group in scope (the ids `groupList` uses), only when
   * the read of them is known complete as a full listing's is (paged to its end as the
   * provider's paging says, an early-looking end read again; a failure throws, it never gives a
   * partial census). A group of the engine's shadow not among them is gone for the connector
   * (deleted, or out of its group scope): its members lose it in this run
   * (engine/group-ingest.ts, guarded as any removal). Absent: no group is taken for gone.
   */
  groupCensus?: string[];
}

/** A group as a group-centric read returns it. */
export interface SourceGroup {
  id: string;
  name: string;
  /** Ids of the member users, when asked for (direct members; nested groups are resolved by the source). */
  members?: string[];
}

export interface AttributeInfo {
  /** Path as used in a mapping source, e.g. `department`, `manager.mail`. */
  path: string;
  type: 'string' | 'boolean' | 'number' | 'string[]' | 'object' | 'datetime';
  description?: string;
}

/** What the engine asks a source for; built from the mapping so only needed data is fetched. */
export interface SourceQuery {
  /** Attribute paths the mapping reads (top-level names are enough for $select). */
  attributes: string[];
  /** Whether group memberships are needed (a `groups` rule or required groups). */
  groups: boolean;
  /** Whether the manager reference is needed (any `manager.*` path). */
  manager: boolean;
  signal?: AbortSignal;
}

export interface SourceConnector {
  readonly kind: string;
  test(): Promise<TestResult>;
  attributes(): Promise<AttributeInfo[]>;
  /**
   * Full read, page by page; the last page says whether the read was complete. Throws on any
   * failure: an error is never "no more users".
   */
  listUsers(query: SourceQuery): AsyncIterable<UserPage>;
  /**
   * One user by any reference the admin may type (UPN, mail, object id).
   * Returns null only when the provider says the user does not exist.
   */
  getUser(ref: string, query: SourceQuery): Promise<SourceUser | null>;
  /**
   * Incremental read: what changed since `checkpoint` (null: a seeding round that returns every
   * user and a first checkpoint). Throws an IdsyncError with code CHECKPOINT_EXPIRED when the
   * provider no longer accepts the checkpoint; the engine then falls back to a full read.
   * Absent when the provider has no change feed.
   */
  changes?(checkpoint: string | null, query: SourceQuery): AsyncIterable<ChangePage>;
  /** Groups with their members, for group-centric reads. Throws on any failure. */
  listGroups?(query: SourceQuery): AsyncIterable<SourceGroup[]>;
  /**
   * The ids of one group's user members (transitive when the connector counts nested groups),
   * read in full (paged, checked against the provider's count; throws otherwise); null when the
   * group does not exist. For a group that became one of the connector's groups in a change feed
   * (renamed into its group filter): its members get it in the same run (engine/group-ingest.ts).
   */
  groupMemberIds?(groupId: string): Promise<string[] | null>;
  /**
   * Users whose name, mail or UPN starts with `text` (case-insensitive), at most `limit`, for
   * the pickers where an administrator looks a user up. Light: no manager, no groups.
   */
  searchUsers?(text: string, limit: number): Promise<UserHit[]>;
  close?(): Promise<void>;
}

/** A user found by a search: enough to show and to name it exactly. */
export interface UserHit {
  id: string;
  displayName: string | null;
  userPrincipalName: string | null;
  mail: string | null;
}

// ---------------------------------------------------------------- targets

/**
 * Target field names (see docs): `user.username`, `user.displayName`, `user.email`,
 * `user.active`, `groups`, `property.<key>`, `confluence.profile.<name>`,
 * `crowd.attribute.<name>`, `atlassian.profile.<name>`.
 */
export type TargetFieldName = string;

export interface TargetField {
  /** Exact name, or a prefix ending in `.` for families such as `property.`. */
  name: TargetFieldName;
  type: 'string' | 'boolean' | 'json' | 'string[]';
  label: string;
  /** Why this field exists / caveats shown in the mapping editor. */
  description?: string;
  /** Needed to create a user (the mapping must produce it). */
  requiredOnCreate?: boolean;
  /** Maximum serialized length where the product enforces one. */
  maxLength?: number;
}

export interface TargetCapabilities {
  /** Product and deployment, e.g. `jira-dc`. */
  kind: string;
  fields: TargetField[];
  /**
   * Fields a user might expect here but this target cannot write, with the reason and
   * the alternative; the mapping validator quotes it when such a field is chosen.
   */
  unsupported?: Array<{ name: TargetFieldName; reason: string }>;
  /** Whether the target can create users (Cloud products often cannot). */
  canCreateUsers: boolean;
  /**
   * What the target can do to a linked user the identity provider no longer gives (cleanup,
   * issue 10) and to a renamed one. Config validation refuses a cleanup action the target
   * cannot do, quoting `reasons`.
   */
  lifecycle: LifecycleCapabilities;
}

/**
 * The cleanup actions a target supports. `disable`, `anonymise` and `removeAccess` are writes
 * through `write()` (user.active=false; username/display name/email replaced by a pseudonym;
 * the `accessGroups` removed), so they are planned, journaled and confirmed like any other
 * change; `delete` goes through `deleteUser()`.
 */
export interface LifecycleCapabilities {
  /** Can deactivate and reactivate an account (writes `user.active`). */
  disable: boolean;
  /** Can delete an account (`TargetConnector.deleteUser`). */
  delete: boolean;
  /** Can replace username, display name and e-mail (anonymise, and restore on return). */
  anonymise: boolean;
  /** Can change an existing account's username keeping its key (renames in the provider). */
  renameUsername: boolean;
  /**
   * For targets that cannot disable (Jira/Confluence Cloud): access is removed by removing
   * these product-access groups (the connector's configured ones; empty when none set).
   */
  removeAccess: boolean;
  /** Why an action above is false, in words for the administrator (the validator quotes it). */
  reasons?: Partial<Record<'disable' | 'delete' | 'anonymise' | 'renameUsername' | 'removeAccess', string>>;
}

/** How a user is known in a target. `key` is the target's immutable id (Jira user key, account id). */
export interface TargetUserRef {
  key: string;
  username?: string;
}

/** Values of target fields. `groups` is a sorted string[]; a null value means "clear". */
export type FieldValues = Record<TargetFieldName, Json>;

export interface TargetUser {
  ref: TargetUserRef;
  /** Current values of the fields asked for (account fields always; others on request). */
  values: FieldValues;
}

export interface MatchKeys {
  /** From the link store: the target key found earlier. */
  key?: string;
  username?: string;
  email?: string;
}

/** One field's change, as journaled: what it was, what it becomes. */
export interface FieldChange {
  field: TargetFieldName;
  before: Json | undefined;
  after: Json | undefined;
  /** For `groups`: membership deltas computed by the planner. */
  add?: string[];
  remove?: string[];
  /** Set in run results when writing this field failed. */
  error?: string;
}

/** What the executor asks a target to do for one user. */
export interface UserWrite {
  op: 'create' | 'update';
  ref?: TargetUserRef; // set for update
  /** All desired values (create needs them all; update uses `changes`). */
  desired: FieldValues;
  changes: FieldChange[];
  options: {
    createMissingGroups: boolean;
    /**
     * A create that finds the username taken (a race, a retried POST) may adopt that account only
     * if this answers null; otherwise it fails with the reason given (the engine's matching
     * policy: `never`, or the account already linked to another source user). Absent: adopt.
     */
    mayAdopt?: (ref: TargetUserRef) => Promise<string | null>;
  };
}

export interface FieldResult {
  field: TargetFieldName;
  ok: boolean;
  error?: string;
  /** Value reported as skipped (e.g. account not managed), not failed. */
  skipped?: string;
}

export interface WriteResult {
  ref: TargetUserRef;
  fields: FieldResult[];
}

export interface TargetConnector {
  readonly kind: string;
  /** Configured id of this target inside its connector, e.g. `jira`. */
  readonly id: string;
  capabilities(): TargetCapabilities;
  test(): Promise<TestResult>;
  /** Finds a user by link key first, then username, then email. Null when none matches. */
  findUser(keys: MatchKeys, fields?: TargetFieldName[]): Promise<TargetUser | null>;
  /** Reads the current values of `fields` for a known user (reconcile and ifEmpty rules). */
  readUser(ref: TargetUserRef, fields: TargetFieldName[]): Promise<TargetUser | null>;
  /**
   * Performs the writes. Per-field failures are reported in the result (the user fails,
   * the run goes on); errors that concern the whole target (auth, unreachable) throw.
   */
  write(request: UserWrite): Promise<WriteResult>;
  /**
   * Deletes the account (cleanup action `delete`), where `capabilities().lifecycle.delete`.
   * Resolves when the target confirmed the deletion or says the account does not exist;
   * throws an IdsyncError otherwise (e.g. CONFLICT when the product refuses, with its reason).
   */
  deleteUser?(ref: TargetUserRef): Promise<void>;
  /** Whether a group of this name exists (ignoring case where the product does); Test connection checks the groups the group rules name. */
  groupExists?(name: string): Promise<boolean>;
  close?(): Promise<void>;
}

// ---------------------------------------------------------------- mapping

export type MappingFlow = 'always' | 'onCreate' | 'ifEmpty';
export type WhenEmpty = 'keep' | 'clear';

export interface MappingRule {
  /** Target field, e.g. `property.costCenter`. */
  target: TargetFieldName;
  /** Attribute path (`department`, `manager.mail`) or JSONata expression. */
  source: string;
  default?: Json;
  flow: MappingFlow;
  whenEmpty: WhenEmpty;
}

// ---------------------------------------------------------------- runs

/**
 * `incremental`: what changed since the connector's checkpoint (sources with `changes`).
 * `cleanup`: an administrator's approval of a quarantined cleanup (src/engine/quarantine.ts).
 * `push`: a batch of users a provider pushed to idsync (inbound SCIM), given with the request.
 */
export const RUN_KINDS = ['full', 'user', 'incremental', 'cleanup', 'push'] as const;
export type RunKind = (typeof RUN_KINDS)[number];
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'partial';
/** What a run did with one user on one target (the values a run item's `operation` takes). */
export const ITEM_OPERATIONS = ['created', 'updated', 'unchanged', 'failed', 'skipped', 'missing', 'disabled', 'deleted', 'anonymised', 'quarantined'] as const;
export type ItemOperation = (typeof ITEM_OPERATIONS)[number];

export interface RunCounts {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  skipped: number;
  missing: number;
  /**
   * Users written: one per user and target to which a change was sent (a user written to two
   * targets counts twice; 0 on a no-change run). Not HTTP requests: one user may take several.
   */
  usersWritten: number;
  /** @deprecated the old name of usersWritten (same value), kept for readers of the JSON. */
  writes: number;
  /**
   * Cleanup of users the identity provider no longer gives (issue 10): accounts disabled (or
   * their product access removed), deleted, anonymised, and users whose cleanup was held back in
   * a quarantine. Absent on runs that did none of these. Users reported gone but left as they
   * are count as `missing`.
   */
  disabled?: number;
  deleted?: number;
  anonymised?: number;
  quarantined?: number;
  /**
   * Linked accounts the mapping took from active to inactive (`user.active` true → false, e.g.
   * a SCIM PATCH `active: "False"`): also counted in `updated`, and with the cleanups above
   * against the deletion safety (cleanup-burst.ts). Absent on runs that wrote none.
   */
  deactivated?: number;
  /**
   * Group memberships the run's mapped writes removed, per target group (lower-case name →
   * members removed; kept in `targets` only): what the group-removal guard counts over a burst of
   * runs (cleanup-burst.ts). Absent on runs that removed none.
   */
  groupsRemoved?: Record<string, number>;
  /**
   * Of `unchanged`: users a run that projects everyone (a full sync, a replay) found unchanged
   * and linked as before, counted but not listed among the run's items (src/engine/journal.ts).
   * Absent on runs that list every user.
   */
  unchangedUnlisted?: number;
  /** The same counts per target, when the connector writes to several. */
  targets?: Record<string, Omit<RunCounts, 'read' | 'targets'>>;
}
