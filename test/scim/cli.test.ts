// `idsync scim token create|list|revoke`: the token is printed once, listed never, and a
// revoked token no longer verifies.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.ts';
import { ScimRepo } from '../../src/sources/scim/repo.ts';
import { scimConnector } from './harness.ts';

const run = promisify(execFile);
const cli = (dir: string, ...args: string[]) => run(process.execPath, ['bin/idsync.mjs', '--data-dir', dir, ...args], { env: { ...process.env, IDSYNC_DATABASE_URL: '' } });

it('creates, lists and revokes SCIM tokens from the command line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idsync-scim-cli-'));
  try {
    const store = await Store.open({ dataDir: dir });
    await store.connectors.save(scimConnector('http://127.0.0.1:1', 'pushed'));
    await store.close();
    const created = JSON.parse((await cli(dir, 'scim', 'token', 'create', 'pushed', '--label', 'entra', '--json')).stdout);
    assert.match(created.token, /^idsync_scim_[A-Za-z0-9_-]{43}$/);
    const listed = (await cli(dir, 'scim', 'token', 'list', 'pushed')).stdout;
    assert.ok(listed.includes(created.tokenInfo.id) && listed.includes('live'), 'the token is listed as live');
    assert.ok(!listed.includes(created.token), 'the token is never listed');
    const check = async () => {
      const s = await Store.open({ dataDir: dir });
      try {
        return await new ScimRepo(s.db).verifyToken('pushed', created.token);
      } finally {
        await s.close();
      }
    };
    assert.equal(await check(), true);
    await cli(dir, 'scim', 'token', 'revoke', 'pushed', created.tokenInfo.id);
    assert.equal(await check(), false, 'a revoked token no longer verifies');
    await assert.rejects(cli(dir, 'scim', 'token', 'create', 'nope'), (e: any) => /no connector nope/.test(e.stderr));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
