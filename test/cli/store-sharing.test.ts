// One store, every entry point: the server, the demo and the CLI open the same data directory
// (SQLite) or database (PostgreSQL) one after the other, in every order, and each finds the
// store as the other left it. Each is a separate process, so none can lean on code another
// happened to load (the auth tables' migration once was known only to the server).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPostgresDatabase } from '../helpers/stores.ts';
import { runCommand, startServe, type Outcome } from './processes.ts';

interface Place {
  args: string[];
  env: Record<string, string | undefined>;
  dispose(): Promise<void>;
}

/** A fresh data directory, and for PostgreSQL a fresh database (the CLI has no schema option). */
async function freshPlace(kind: 'sqlite' | 'postgres'): Promise<Place> {
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-sharing-'));
  const removeDir = async () => rmSync(dataDir, { recursive: true, force: true });
  if (kind === 'sqlite') return { args: ['--data-dir', dataDir], env: { IDSYNC_DATABASE_URL: undefined, IDSYNC_DATA_DIR: undefined }, dispose: removeDir };
  const database = await freshPostgresDatabase('idsync_sharing');
  return {
    args: ['--data-dir', dataDir],
    env: { IDSYNC_DATABASE_URL: database.url, IDSYNC_DATA_DIR: undefined },
    async dispose() {
      await database.drop();
      await removeDir();
    },
  };
}

const idsync = (place: Place, args: string[]) => runCommand(process.execPath, ['bin/idsync.mjs', ...place.args, ...args], place.env);

function jsonOf<T>(o: Outcome, what: string): T {
  assert.equal(o.code, 0, `${what} exited ${o.code}:\n${o.stdout}\n${o.stderr}`);
  return JSON.parse(o.stdout.slice(o.stdout.search(/[[{]/))) as T;
}

async function serveAnswers(place: Place): Promise<void> {
  const serve = await startServe(place.args, place.env);
  try {
    const status = await fetch(`${serve.url}/api/v1/auth/status`);
    assert.equal(status.status, 200, `GET /auth/status answered ${status.status}`);
  } finally {
    await serve.stop();
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`one store shared by serve, demo and the CLI on ${kind}`, () => {
    test('demo → CLI: `runs` and `run <id>` browse what the demo synced', async () => {
      const place = await freshPlace(kind);
      try {
        const demo = jsonOf<{ run: string; created: number; dataDirKept: boolean }>(await idsync(place, ['demo', '--once', '--json', '--users', '12']), 'demo');
        assert.equal(demo.dataDirKept, true, 'a data directory named with --data-dir is kept');
        const runs = jsonOf<Array<{ id: string }>>(await idsync(place, ['runs', '--json']), 'runs');
        assert.deepEqual(runs.map((r) => r.id), [demo.run]);
        const shown = jsonOf<{ total: number }>(await idsync(place, ['run', demo.run, '--operation', 'created', '--json']), 'run');
        assert.equal(shown.total, demo.created);
      } finally {
        await place.dispose();
      }
    });

    test('CLI → serve → CLI: the server opens a store the CLI created, and the CLI opens it after the server', async () => {
      const place = await freshPlace(kind);
      try {
        assert.deepEqual(jsonOf(await idsync(place, ['runs', '--json']), 'runs'), []);
        await serveAnswers(place);
        assert.deepEqual(jsonOf(await idsync(place, ['runs', '--json']), 'runs after serve'), []);
        assert.deepEqual(jsonOf(await idsync(place, ['config', 'export', '--json']), 'config export after serve'), { version: 1, connectors: [] });
      } finally {
        await place.dispose();
      }
    });
  });
}
