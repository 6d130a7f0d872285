// `idsync serve` on PostgreSQL that cannot start (here: its port is taken) ends with the error
// and a failure exit code. It used to linger without listening: pg-boss, already started, kept
// the process alive after startServer had failed, and whoever waited for its address waited forever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPostgresDatabase } from '../helpers/stores.ts';
import { runCommand } from '../cli/processes.ts';

test('idsync serve on PostgreSQL whose port is taken exits with the error instead of lingering', { timeout: 90_000 }, async () => {
  const database = await freshPostgresDatabase('idsync_startfail');
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-startfail-'));
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as { port: number }).port;
  try {
    const out = await runCommand(process.execPath, ['bin/idsync.mjs', '--data-dir', dataDir, 'serve', '--port', String(port), '--json'], {
      IDSYNC_DATABASE_URL: database.url,
      IDSYNC_ADMIN_PASSWORD: undefined,
    });
    assert.notEqual(out.code, 0, `serve failed:\n${out.stderr}`);
    assert.match(out.stderr, /EADDRINUSE/, 'it says why');
    assert.doesNotMatch(out.stdout, /"url"/, 'it announced no address');
  } finally {
    taken.close();
    rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
  }
});
