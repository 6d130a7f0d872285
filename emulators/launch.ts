// Starts the emulators a demo or a benchmark needs: an Entra ID tenant (Microsoft Graph) with
// a seeded organisation, Jira DC and, optionally, Confluence DC.
//
// In-process: `await startSuite({ users })`. As a separate process (benchmarks, so the
// emulators do not share the event loop with idsync):
//   node --import tsx emulators/launch.ts --users 100000 [--seed 7] [--confluence]
// prints one JSON line with the URLs and the Graph CA certificate, then serves until stdin
// closes or SIGTERM. Commands arrive as JSON lines on stdin and are answered on stdout:
//   {"cmd":"mutate","fraction":0.01,"seed":99}   → {"changed": N}   (see org/mutate.ts)
//   {"cmd":"sample","count":50}                   → [{id, userPrincipalName}, ...] spread over the org
import { createInterface } from 'node:readline';
import { generateOrg, mutateOrg } from './org/index.ts';
import { DEFAULT_GRAPH_CLIENT, startGraphEmulator, type GraphEmulator } from './graph/index.ts';
import { EMULATOR_ADMIN, startJiraDcEmulator, type JiraDcEmulator } from './jira-dc/index.ts';
import { DEFAULT_ADMIN as CONFLUENCE_ADMIN, startConfluenceDcEmulator, type ConfluenceDcEmulator } from './confluence-dc/index.ts';

export interface SuiteOptions {
  users: number;
  seed?: number;
  confluence?: boolean;
  /** Groups Jira should know before the sync (the org's departmental groups are created by idsync). */
  jiraGroups?: string[];
}

export interface SuiteInfo {
  graph: { url: string; ca: string; tenantId: string; authorityHost: string; graphUrl: string; clientId: string; clientSecret: string };
  jira: { url: string; pat: string; username: string; password: string };
  confluence?: { url: string; username: string; password: string; token: string };
  users: number;
}

export interface Suite {
  info: SuiteInfo;
  graph: GraphEmulator;
  jira: JiraDcEmulator;
  confluence?: ConfluenceDcEmulator;
  close(): Promise<void>;
}

export async function startSuite(opts: SuiteOptions): Promise<Suite> {
  const org = generateOrg({ users: opts.users, seed: opts.seed ?? 7 });
  const graph = await startGraphEmulator({ org });
  const jira = await startJiraDcEmulator({ groups: opts.jiraGroups });
  const confluence = opts.confluence ? await startConfluenceDcEmulator({}) : undefined;
  const info: SuiteInfo = {
    graph: {
      url: graph.url,
      ca: graph.ca!,
      tenantId: graph.tenantId,
      authorityHost: graph.authorityHost,
      graphUrl: graph.graphUrl,
      clientId: DEFAULT_GRAPH_CLIENT.clientId,
      clientSecret: DEFAULT_GRAPH_CLIENT.clientSecret,
    },
    jira: { url: jira.url, ...EMULATOR_ADMIN },
    ...(confluence ? { confluence: { url: confluence.url, ...CONFLUENCE_ADMIN } } : {}),
    users: org.users.length,
  };
  return {
    info,
    graph,
    jira,
    confluence,
    async close() {
      await Promise.all([graph.close(), jira.close(), confluence?.close()]);
    },
  };
}

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const suite = await startSuite({
    users: Number(arg('--users') ?? 300),
    seed: Number(arg('--seed') ?? 7),
    confluence: process.argv.includes('--confluence'),
  });
  process.stdout.write(JSON.stringify(suite.info) + '\n');
  const stop = async () => {
    await suite.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => process.stdout.write(JSON.stringify(command(suite, JSON.parse(line))) + '\n'));
  lines.on('close', stop);
}

function command(suite: Suite, c: { cmd: string; fraction?: number; seed?: number; count?: number }): unknown {
  const org = suite.graph.directory.org;
  if (c.cmd === 'mutate') {
    const { changedIds } = mutateOrg(org, { fraction: c.fraction ?? 0.01, seed: c.seed ?? 1 });
    suite.graph.directory.updateUser(changedIds[0] ?? '', {}); // clears the listing cache
    return { changed: changedIds.length };
  }
  if (c.cmd === 'sample') {
    const members = org.users.filter((u) => u.userType === 'Member' && u.mail);
    const step = Math.max(1, Math.floor(members.length / (c.count ?? 50)));
    return members.filter((_, i) => i % step === 0).slice(0, c.count ?? 50).map((u) => ({ id: u.id, userPrincipalName: u.userPrincipalName }));
  }
  return { error: `unknown command ${c.cmd}` };
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
