// Reading a YAML configuration file: problems are reported by line and column, and a syntax
// error never shows the line (it may hold a secret typed inline by mistake).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from './load.ts';
import { ConfigError } from './validate.ts';

const dir = mkdtempSync(join(tmpdir(), 'idsync-load-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const valid = `version: 1
connectors:
  - id: entra-main
    source:
      type: entra
      tenantId: contoso.onmicrosoft.com
      clientId: 00000000-0000-0000-0000-000000000000
      clientSecret: { env: ENTRA_CLIENT_SECRET }
    targets:
      - id: jira
        type: jira-dc
        url: https://jira.example.com
        auth: { type: pat, token: { env: JIRA_PAT } }
        createUsers: false
        mapping:
          - { target: user.displayName, source: displayName }
    schedule: { cron: "0 * * * *", timezone: UTC }
`;

async function configError(path: string): Promise<ConfigError> {
  try {
    await loadConfigFile(path);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`${path} was accepted`);
}

test('the valid file loads', async () => {
  const loaded = await loadConfigFile(file('valid.yaml', valid));
  assert.equal(loaded.connectors[0]!.targets[0]!.createUsers, false);
});

test('schema problems name the line and column of the key in the file', async () => {
  const e = await configError(file('typo.yaml', valid.replace('createUsers: false', 'createUser: false').replace('"0 * * * *"', '"0 0 30 2 *"')));
  const at = (path: string) => e.issues.find((i) => i.path === path);
  assert.deepEqual([at('targets[0].createUser')?.line, at('targets[0].createUser')?.column], [14, 9]);
  assert.match(at('targets[0].createUser')!.message, /did you mean "createUsers"/);
  assert.deepEqual([at('schedule.cron')?.line, at('schedule.cron')?.column], [17, 17]);
  assert.match(e.message, /targets\[0\]\.createUser, line 14, column 9: unknown setting/);
});

test('a missing setting is placed at the object that lacks it; a file-level problem has its line too', async () => {
  const missing = await configError(file('missing.yaml', valid.replace('      tenantId: contoso.onmicrosoft.com\n', '')));
  const tenant = missing.issues.find((i) => i.path === 'source.tenantId');
  assert.deepEqual([tenant?.line, tenant?.column], [5, 7], JSON.stringify(missing.issues));
  const top = await configError(file('top.yaml', valid.replace('    schedule:', '    extra: 1\n    schedule:')));
  const extra = top.issues.find((i) => i.path === 'connectors[0].extra');
  assert.deepEqual([extra?.line, extra?.column], [17, 5], JSON.stringify(top.issues));
});

test('a syntax error names line and column and never echoes the source', async () => {
  const cases = [
    valid.replace('      clientSecret: { env: ENTRA_CLIENT_SECRET }\n', '      clientSecret: "hunter2-inline-secret\n'),
    valid.replace('    targets:\n', '    - clientSecret hunter2-inline-secret\n    targets:\n'),
    `${valid}- hunter2-inline-secret: x\n`,
    valid.replace('      clientId:', '      clientSecret: "\\q hunter2-inline-secret"\n      clientId:'),
  ];
  for (const [n, text] of cases.entries()) {
    const path = file(`syntax-${n}.yaml`, text);
    await assert.rejects(loadConfigFile(path), (e: Error) => {
      assert.match(e.message, /is not valid YAML: line \d+, column \d+: /, `case ${n}`);
      assert.ok(!e.message.includes('hunter2'), `case ${n} echoes the source: ${e.message}`);
      return true;
    });
  }
});
