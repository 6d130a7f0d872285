// Versioned schema migrations, applied in name order whenever a store opens. This is the one
// list: every entry point (CLI, server, demo) opens the store through ./index.ts and so knows
// every migration, whatever code it loaded. Add a new entry at the end for every change; never
// edit one that has shipped.
import { PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

const core: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('connectors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('secrets')
        .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('secrets_pk', ['connector_id', 'name'])
        .execute();

      await db.schema
        .createTable('links')
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('target_key', 'text', (c) => c.notNull())
        .addColumn('target_username', 'text')
        .addColumn('label', 'text')
        .addColumn('applied', 'text', (c) => c.notNull())
        .addColumn('managed_groups', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('missing_since', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('links_pk', ['connector_id', 'target_id', 'source_id'])
        .execute();
      await db.schema.createIndex('links_by_target_key').on('links').columns(['connector_id', 'target_id', 'target_key']).execute();

      await db.schema
        .createTable('runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('dry_run', 'integer', (c) => c.notNull())
        .addColumn('reconcile', 'integer', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('user_ref', 'text')
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('counts', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('runs_by_connector').on('runs').columns(['connector_id', 'started_at']).execute();

      await db.schema
        .createTable('run_items')
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('source_id', 'text')
        .addColumn('label', 'text')
        .addColumn('target_id', 'text')
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('changes', 'text')
        .addColumn('details', 'text')
        .addPrimaryKeyConstraint('run_items_pk', ['run_id', 'seq'])
        .execute();
      await db.schema.createIndex('run_items_by_op').on('run_items').columns(['run_id', 'operation']).execute();

      await db.schema
        .createTable('state')
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('state_pk', ['connector_id', 'key'])
        .execute();
    },
  },
};

core['0002_auth'] = {
  // The web server's tables (see ./auth.ts): administrators and viewers, sessions, API tokens,
  // and the scheduler's marks.
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('auth_users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('auth_sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('auth_users.id').onDelete('cascade'))
      .addColumn('csrf', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('auth_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull().references('auth_users.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema
      .createTable('schedule_marks')
      .addColumn('connector_id', 'text', (c) => c.primaryKey())
      .addColumn('last_slot', 'text', (c) => c.notNull())
      .execute();
  },
};

core['0003_link_fingerprints'] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('links').addColumn('fingerprint', 'text').execute();
  },
};

core['0004_run_heartbeats'] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('runs').addColumn('heartbeat_at', 'text').execute();
    // Runs an older idsync left "running" when it stopped cannot be told apart from live ones
    // without heartbeats; they would also break the unique index below.
    await db
      .updateTable('runs')
      .set({ status: 'failed', error: 'interrupted: idsync stopped while this run was in progress' })
      .where('status', '=', 'running')
      .execute();
    // One running run per connector, whichever process or instance starts it.
    await db.schema
      .createIndex('runs_one_running_per_connector')
      .on('runs')
      .column('connector_id')
      .unique()
      .where(sql.ref('status'), '=', 'running')
      .execute();
  },
};

core['0005_runs_owner'] = {
  async up(db: Kysely<any>) {
    // The process running a run (see src/store/run-owner.ts): on its own machine a crashed run
    // is known dead at once instead of after the heartbeat timeout.
    await db.schema.alterTable('runs').addColumn('owner_host', 'text').execute();
    await db.schema.alterTable('runs').addColumn('owner_pid', 'integer').execute();
    await db.schema.alterTable('runs').addColumn('owner_token', 'text').execute();
    await db.schema.alterTable('runs').addColumn('owner_pid_space', 'text').execute();
    await db.schema.alterTable('runs').addColumn('owner_start_ticks', 'text').execute();
  },
};

// The first administrator is created once: concurrent first-run set-ups (or instances starting
// with IDSYNC_ADMIN_PASSWORD) each insert this one row, and all but one are refused by its key.
core['0006_server_setup_claim'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('auth_setup')
      .addColumn('step', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
};

// Intent before write: what a run is about to write to a target user, recorded before the
// write and cleared with the link that confirms it. A row left behind means a run died with
// that user's state unknown (see src/engine/recovery.ts).
core['0007_engine_write_intents'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('write_intents')
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('source_id', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('op', 'text', (c) => c.notNull())
      .addColumn('target_key', 'text')
      .addColumn('username', 'text')
      .addColumn('email', 'text')
      .addColumn('label', 'text')
      .addColumn('groups_add', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('write_intents_pk', ['connector_id', 'target_id', 'source_id'])
      .execute();
  },
};

// Several instances (src/jobs): the queue job a run does, and one row per schedule slot claimed,
// so that each slot runs on exactly one of the processes sharing the store.
core['0008_jobs_schedule_slots'] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('runs').addColumn('job_id', 'text').execute();
    await db.schema
      .createTable('schedule_slots')
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('slot', 'text', (c) => c.notNull())
      .addColumn('claimed_by', 'text', (c) => c.notNull())
      .addColumn('claimed_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('schedule_slots_pk', ['connector_id', 'kind', 'slot'])
      .execute();
  },
};

// The shadow of the directory (see src/store/shadow.ts and docs/architecture.md, "Shadow and
// projection"): per connector the last record read of each user, its tombstone and whether the
// projection still owes it; the other names references use (alias keys); the change feed's
// checkpoint. And a run's notice (e.g. "the checkpoint had expired: read in full").
core['0009_shadow_directory'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('shadow_users')
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('source_id', 'text', (c) => c.notNull())
      .addColumn('record', 'text')
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('manager_id', 'text')
      .addColumn('tombstone', 'text')
      .addColumn('tombstone_at', 'text')
      .addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('shadow_users_pk', ['connector_id', 'source_id'])
      .execute();
    await db.schema.createIndex('shadow_users_by_manager').on('shadow_users').columns(['connector_id', 'manager_id']).execute();
    await db.schema.createIndex('shadow_users_pending').on('shadow_users').columns(['connector_id', 'pending']).execute();
    await db.schema
      .createTable('shadow_keys')
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('key_type', 'text', (c) => c.notNull())
      .addColumn('key_value', 'text', (c) => c.notNull())
      .addColumn('source_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('shadow_keys_pk', ['connector_id', 'key_type', 'key_value'])
      .execute();
    await db.schema.createIndex('shadow_keys_by_user').on('shadow_keys').columns(['connector_id', 'source_id']).execute();
    await db.schema
      .createTable('shadow_state')
      .addColumn('connector_id', 'text', (c) => c.primaryKey())
      .addColumn('checkpoint', 'text')
      .addColumn('checkpoint_key', 'text')
      .addColumn('complete_read_at', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.alterTable('runs').addColumn('notice', 'text').execute();
  },
};

// Cleanup of leavers (issue 10): what cleanup did to each linked account, and quarantines:
// cleanups held back for an administrator, with every user they would touch.
core['0010_cleanup_quarantine'] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('links').addColumn('cleanup', 'text').execute();
    await db.schema.alterTable('runs').addColumn('quarantine', 'text').execute();
    await db.schema.alterTable('links').addColumn('delete_due_at', 'text').execute();
    await db.schema.createIndex('links_delete_due').on('links').columns(['connector_id', 'target_id', 'delete_due_at']).execute();
    await db.schema
      .createTable('cleanup_quarantines')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('affected', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('closed_at', 'text')
      .addColumn('closed_by', 'text')
      .execute();
    await db.schema.createIndex('cleanup_quarantines_by_connector').on('cleanup_quarantines').columns(['connector_id', 'status']).execute();
    await db.schema
      .createTable('cleanup_quarantine_users')
      .addColumn('quarantine_id', 'text', (c) => c.notNull())
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('source_id', 'text', (c) => c.notNull())
      .addColumn('label', 'text')
      .addColumn('target_key', 'text', (c) => c.notNull())
      .addColumn('target_username', 'text')
      .addColumn('planned', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('run_id', 'text')
      .addPrimaryKeyConstraint('cleanup_quarantine_users_pk', ['quarantine_id', 'target_id', 'source_id'])
      .execute();
    await db.schema.createIndex('cleanup_quarantine_users_held').on('cleanup_quarantine_users').columns(['connector_id', 'state']).execute();
  },
};

// Inbound SCIM (src/sources/scim): the resources a provisioning service pushed, per connector,
// with a version (ETag) and a dirty mark while the push into the shadow still owes them; group
// memberships apart (a PATCH of members does not rewrite the group); bearer tokens, hashed.
core['0011_scim_resources'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('scim_resources')
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('resource_type', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('name_lc', 'text')
      .addColumn('external_id', 'text')
      .addColumn('resource', 'text')
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('dirty', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('scim_resources_pk', ['connector_id', 'resource_type', 'id'])
      .execute();
    // userName / group displayName are unique per connector (case-insensitive); a deleted row's is null.
    await db.schema.createIndex('scim_resources_name').unique().on('scim_resources').columns(['connector_id', 'resource_type', 'name_lc']).execute();
    await db.schema.createIndex('scim_resources_external').on('scim_resources').columns(['connector_id', 'resource_type', 'external_id']).execute();
    await db.schema.createIndex('scim_resources_dirty').on('scim_resources').columns(['connector_id', 'dirty']).execute();
    await db.schema
      .createTable('scim_members')
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('group_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('scim_members_pk', ['connector_id', 'group_id', 'user_id'])
      .execute();
    await db.schema.createIndex('scim_members_by_user').on('scim_members').columns(['connector_id', 'user_id']).execute();
    await db.schema
      .createTable('scim_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull().unique())
      .addColumn('label', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
  },
};

// The users a full read returned, per run (issue 9): the sweep and the read guard find who was
// not returned by a query against this table instead of a set of every id in memory, so a full
// sync's memory does not grow with the directory. Scratch: rows live while their run does
// (engine/shadow-ingest.ts); no shadow row is written to say a user was seen.
core['0012_run_seen'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('run_seen')
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('source_id', 'text', (c) => c.notNull())
      .addColumn('in_scope', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_seen_pk', ['run_id', 'source_id'])
      .execute();
  },
};

// Groups in the shadow (issue 9): per connector, each group's provider id and display name as
// last read, with a fingerprint and a tombstone, so a rename or deletion the change feed reports
// (which names the group by id only) is known as "from this name to that one". And the users'
// group names, one row per user and name, so the members of a renamed group are found by an
// indexed lookup instead of a scan of every record (a group rename must not read 100,000
// records to find its 40 members). Filled from the records already in the shadow.
core['0013_shadow_groups'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('shadow_groups')
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('group_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('tombstone', 'text')
      .addColumn('tombstone_at', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('shadow_groups_pk', ['connector_id', 'group_id'])
      .execute();
    await db.schema.createIndex('shadow_groups_by_name').on('shadow_groups').columns(['connector_id', 'name']).execute();
    await db.schema
      .createTable('shadow_user_groups')
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('source_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('shadow_user_groups_pk', ['connector_id', 'group_name', 'source_id'])
      .execute();
    await db.schema.createIndex('shadow_user_groups_by_user').on('shadow_user_groups').columns(['connector_id', 'source_id']).execute();
    // Live records only: a tombstoned user is nobody's member (its row comes back with its record).
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      await sql`insert into shadow_user_groups (connector_id, group_name, source_id)
        select distinct u.connector_id, g.name, u.source_id from shadow_users u
        cross join lateral jsonb_array_elements_text(case when jsonb_typeof(u.record::jsonb -> 'groups') = 'array' then u.record::jsonb -> 'groups' else '[]'::jsonb end) as g(name)
        where u.tombstone is null and u.record is not null`.execute(db);
    } else {
      await sql`insert or ignore into shadow_user_groups (connector_id, group_name, source_id)
        select u.connector_id, g.value, u.source_id from shadow_users u, json_each(u.record, '$.groups') g
        where u.tombstone is null and u.record is not null and json_type(u.record, '$.groups') = 'array' and g.type = 'text'`.execute(db);
    }
  },
};

// Mapping changes projected from the shadow (issue 9): which query the shadow's records were read
// with and which mappings were last projected to every user, beside the checkpoint (whose key is
// now the query alone). A changed rule that needs nothing new is then projected from the shadow
// instead of re-reading the directory (engine/ingest.ts, shadowReplay).
core['0014_projection_state'] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('shadow_state').addColumn('records_query_key', 'text').execute();
    await db.schema.alterTable('shadow_state').addColumn('projected_key', 'text').execute();
  },
};

// Group-membership removals held in a quarantine (engine/group-removal-hold.ts): a held row of
// reason `group-removal` names the managed target groups it keeps, as a JSON array.
core['0015_quarantine_groups'] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('cleanup_quarantine_users').addColumn('groups', 'text').execute();
  },
};

// A stable number per shadow row (issue 9, branch wt-seen): who a full read returned is one bit
// per row number in the run's memory (engine/seen-marks.ts) instead of one run_seen row per user
// per run. SQLite: the table is rebuilt so that its rowid is a declared INTEGER PRIMARY KEY
// (`row_no`), the only rowid VACUUM never renumbers; the same structure as before (a rowid table
// and a unique index on connector and source id), so no lookup or write costs more. Columns and
// indexes are copied from what the table has, whatever earlier migrations added. PostgreSQL: an
// identity column, filled for the rows already there.
core['0016_wt-seen_shadow_row_numbers'] = {
  async up(db: Kysely<any>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      await sql`alter table shadow_users add column row_no bigint generated by default as identity`.execute(db);
      return;
    }
    // Kysely runs SQLite migrations outside a transaction: the rebuild makes its own, so a crash leaves the old table whole.
    await db.transaction().execute(async (trx) => {
      const cols = (await sql<{ name: string; type: string; notnull: number; dflt_value: string | null }>`select name, type, "notnull", dflt_value from pragma_table_info('shadow_users')`.execute(trx)).rows;
      const indexes = (await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = 'shadow_users' and sql is not null`.execute(trx)).rows;
      const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
      const defs = cols.map((c) => `${q(c.name)} ${c.type}${c.notnull ? ' not null' : ''}${c.dflt_value !== null ? ` default (${c.dflt_value})` : ''}`);
      const names = cols.map((c) => q(c.name)).join(', ');
      await sql.raw(`create table shadow_users_numbered (row_no integer primary key, ${defs.join(', ')}, constraint shadow_users_pk unique (connector_id, source_id))`).execute(trx);
      await sql.raw(`insert into shadow_users_numbered (row_no, ${names}) select rowid, ${names} from shadow_users order by rowid`).execute(trx);
      await sql`drop table shadow_users`.execute(trx);
      await sql`alter table shadow_users_numbered rename to shadow_users`.execute(trx);
      for (const i of indexes) await sql.raw(i.sql).execute(trx);
    });
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return { ...core };
  },
};
