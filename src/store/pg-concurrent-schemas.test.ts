// Kysely's migrator looks for its tables across every schema of the database; a schema another
// client drops at that moment used to fail the whole open ("schema … does not exist"), which is
// what tests running side by side (each in a schema of its own) and any other application sharing
// the database do. The store must open regardless.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_URL, openPostgresStore } from '../../test/helpers/stores.ts';

test('a PostgreSQL store opens while other clients create and drop schemas of their own', async () => {
  const churn = new pg.Client({ connectionString: PG_URL });
  await churn.connect();
  let stop = false;
  let churned = 0;
  let opened = 0;
  const churning = (async () => {
    // Bounded: at most 2,000 create/drop pairs, and it ends when the opens below are done.
    for (let i = 0; i < 2000 && !stop; i++) {
      const name = `idsync_churn_${randomBytes(6).toString('hex')}`;
      await churn.query(`CREATE SCHEMA "${name}"`);
      await churn.query(`CREATE TABLE "${name}".t (id int)`);
      await churn.query(`DROP SCHEMA "${name}" CASCADE`);
      churned++;
    }
  })();
  try {
    for (let i = 0; i < 15; i++) {
      const t = await openPostgresStore();
      opened++;
      await t.dispose();
    }
  } finally {
    stop = true;
    await churning;
    await churn.end();
  }
  assert.equal(opened, 15, 'every store opened');
  assert.ok(churned > 0, `other schemas were dropped meanwhile (${churned})`);
});
