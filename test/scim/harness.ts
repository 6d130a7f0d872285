// A running idsync server (startServer: a real listening port, a store of its own) with one
// SCIM connector writing into the Jira DC emulator, and a SCIM client that calls it as Entra ID
// or Okta do (bearer token, application/scim+json).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server/app.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { ScimRepo } from '../../src/sources/scim/repo.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { rule } from '../../src/cli/demo-mapping.ts';

export const JIRA_PAT = 'scim-test-jira-pat';
process.env.IDSYNC_SCIM_TEST_JIRA_PAT = JIRA_PAT;

export function scimConnector(jiraUrl: string, id = 'scim', source: Record<string, unknown> = {}): ConnectorConfig {
  return {
    id,
    name: 'Inbound SCIM',
    source: { type: 'scim', requiredGroups: [], batchWindowMs: 200, ...source },
    targets: [
      {
        id: 'jira',
        type: 'jira-dc',
        url: jiraUrl,
        auth: { type: 'pat', token: { env: 'IDSYNC_SCIM_TEST_JIRA_PAT' } },
        mapping: [
          rule('user.username', '$lower($substringBefore(userName, "@"))', { whenEmpty: 'keep' }),
          rule('user.displayName', 'displayName', { whenEmpty: 'keep' }),
          rule('user.email', 'mail', { whenEmpty: 'keep' }),
          rule('user.active', 'active', { whenEmpty: 'keep' }),
          rule('groups', 'groups'),
          rule('property.department', 'enterprise.department'),
          rule('property.managerName', 'manager.displayName'),
        ],
        createUsers: true,
        createMissingGroups: true,
        concurrency: 4,
      },
    ],
  };
}

export interface ScimHarness {
  server: RunningServer;
  jira: JiraDcEmulator;
  base: string;
  token: string;
  client: ScimClient;
  dir: string;
  /** Stops the server and starts another on the same data directory. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startScimHarness(source: Record<string, unknown> = {}): Promise<ScimHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'idsync-scim-'));
  const jira = await startJiraDcEmulator({ patTokens: { [JIRA_PAT]: 'admin' } });
  const server = await startServer({ dataDir: dir, port: 0, logger: false });
  await server.store.connectors.save(scimConnector(jira.url, 'scim', source));
  const { token } = await new ScimRepo(server.store.db).createToken('scim', 'test');
  const base = `${server.url}/scim/v2/scim`;
  const h: ScimHarness = {
    server,
    jira,
    base,
    token,
    dir,
    client: new ScimClient(base, token),
    async restart() {
      await h.server.close();
      h.server = await startServer({ dataDir: dir, port: 0, logger: false });
      h.base = `${h.server.url}/scim/v2/scim`;
      h.client = new ScimClient(h.base, token);
    },
    async close() {
      await h.server.close();
      await jira.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export interface ScimAnswer {
  status: number;
  body: any;
  headers: Headers;
}

export class ScimClient {
  constructor(
    readonly base: string,
    public token: string | undefined,
  ) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ScimAnswer> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  get = (p: string) => this.call('GET', p);
  post = (p: string, b: unknown) => this.call('POST', p, b);
  put = (p: string, b: unknown) => this.call('PUT', p, b);
  patch = (p: string, b: unknown) => this.call('PATCH', p, b);
  del = (p: string) => this.call('DELETE', p);
}

/** Waits until every push the connector owes has run. */
export async function pushed(h: ScimHarness, connectorId = 'scim'): Promise<void> {
  const repo = new ScimRepo(h.server.store.db);
  const deadline = Date.now() + 30_000;
  for (;;) {
    await h.server.scimPush.idle(connectorId);
    if ((await repo.dirtyCount(connectorId)) === 0 && !h.server.coordinator.isRunning(connectorId)) return;
    if (Date.now() > deadline) throw new Error('the push did not finish in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}
