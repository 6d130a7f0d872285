// `idsync demo`: the whole product in one command. Starts an emulated Entra ID tenant with a
// seeded company, an emulated Jira DC and Confluence DC, saves a connector with a realistic
// mapping, runs a full sync into both, prints what happened and serves the admin UI until
// Ctrl-C (or exits after the sync with --once). Its temporary data directory goes with it
// unless --keep or --data-dir says otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSuite, type SuiteInfo } from '../../emulators/launch.ts';
import type { Slapd } from '../../emulators/ldap/slapd.ts';
import { DEMO_SOURCE_WHAT, startDemoSource, type DemoSource, type DemoSourceType } from './demo-sources.ts';
import { Store } from '../store/index.ts';
import { SyncEngine } from '../engine/engine.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import type { MappingRule } from '../core/types.ts';
import { printItems, printJson, progressReporter, summaryLine } from './output.ts';
import { untilStopped } from './serve.ts';
import { accountRules, rule } from './demo-mapping.ts';

export interface DemoOptions {
  once?: boolean;
  json?: boolean;
  users: number;
  port?: number;
  /** A data directory named on the command line: used and kept. Without it, a temporary one. */
  dataDir?: string;
  /** Keep the temporary data directory when the demo ends (it is removed otherwise). */
  keep?: boolean;
  /** The identity provider the demo syncs from (default: the emulated Entra ID). */
  source?: DemoSourceType;
}

/** Entra ID's account fields: the UPN's local part (a guest's own address), the mail or that address. */
const ENTRA_ACCOUNT = {
  username: '$lower($stripDomain($guestToMail(userPrincipalName)))',
  displayName: 'displayName',
  email: '$firstNonEmpty(mail, $guestToMail(userPrincipalName))',
  active: 'accountEnabled',
};

/** What an administrator would map on day one: the account, groups and the profile data Jira lacks. */
export function demoJiraMapping(): MappingRule[] {
  return [
    ...accountRules(ENTRA_ACCOUNT, 'jira-users'),
    rule('property.department', 'department'),
    rule('property.jobTitle', 'jobTitle'),
    rule('property.mobilePhone', 'mobilePhone'),
    rule('property.officeLocation', 'officeLocation'),
    rule('property.employeeId', 'employeeId'),
    rule('property.costCenter', 'onPremisesExtensionAttributes.extensionAttribute3'),
    rule('property.managerEmail', 'manager.mail'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

export function demoConfluenceMapping(): MappingRule[] {
  return [
    ...accountRules(ENTRA_ACCOUNT, 'confluence-users'),
    rule('confluence.profile.phone', '$firstNonEmpty(mobilePhone, businessPhones[0])'),
    rule('confluence.profile.position', 'jobTitle'),
    rule('confluence.profile.department', 'department'),
    rule('confluence.profile.location', 'officeLocation'),
  ];
}

export function demoConnector(info: SuiteInfo): ConnectorConfig {
  const targets: ConnectorConfig['targets'] = [
    {
      id: 'jira',
      type: 'jira-dc',
      url: info.jira.url,
      auth: { type: 'pat', token: { stored: 'target.jira.auth.token' } },
      mapping: demoJiraMapping(),
      createUsers: true,
      createMissingGroups: true,
      concurrency: 8,
    },
  ];
  if (info.confluence) {
    targets.push({
      id: 'confluence',
      type: 'confluence-dc',
      url: info.confluence.url,
      auth: { type: 'basic', username: info.confluence.username, password: { stored: 'target.confluence.auth.password' } },
      mapping: demoConfluenceMapping(),
      createUsers: true,
      createMissingGroups: true,
      concurrency: 8,
    });
  }
  return {
    id: 'contoso-entra',
    name: 'Contoso (emulated Entra ID)',
    source: {
      type: 'entra',
      tenantId: info.graph.tenantId,
      clientId: info.graph.clientId,
      clientSecret: { stored: 'source.clientSecret' },
      authorityHost: info.graph.authorityHost,
      graphUrl: info.graph.graphUrl,
      requiredGroups: [],
    },
    targets,
    schedule: { cron: '0 * * * *', timezone: 'UTC', enabled: true, incremental: '1m' },
  };
}

const LDAP_ACCOUNT = { username: '$lower(uid)', displayName: 'displayName', email: '$firstNonEmpty(mail, uid & "@users.contoso.com")', active: 'accountEnabled' };

/** The same mappings for an OpenLDAP directory (uid, inetOrgPerson attributes, nested groups). */
export function demoLdapJiraMapping(): MappingRule[] {
  return [
    ...accountRules(LDAP_ACCOUNT, 'jira-users'),
    rule('property.department', 'departmentNumber'),
    rule('property.jobTitle', 'title'),
    rule('property.mobilePhone', 'mobile'),
    rule('property.officeLocation', 'physicalDeliveryOfficeName'),
    rule('property.employeeId', 'employeeNumber'),
    rule('property.managerEmail', 'manager.mail'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

export function demoLdapConfluenceMapping(): MappingRule[] {
  return [
    ...accountRules(LDAP_ACCOUNT, 'confluence-users'),
    rule('confluence.profile.phone', '$firstNonEmpty(mobile, telephoneNumber)'),
    rule('confluence.profile.position', 'title'),
    rule('confluence.profile.department', 'departmentNumber'),
    rule('confluence.profile.location', 'physicalDeliveryOfficeName'),
  ];
}

/** What makes the demo connector read another provider than the emulated Entra ID. */
export interface DemoReading {
  id: string;
  name: string;
  source: Record<string, unknown>;
  /** The mappings in that provider's attribute names. */
  jira: MappingRule[];
  confluence: MappingRule[];
  /** Without a change feed, the schedule of hourly full syncs only. */
  schedule?: ConnectorConfig['schedule'];
}

/** Full syncs every hour and no incremental ones: for providers that have no change feed. */
export const HOURLY_FULL_SYNCS: ConnectorConfig['schedule'] = { cron: '0 * * * *', timezone: 'UTC', enabled: true, incremental: false };

/** The demo connector (same targets, same safety) reading another provider instead of Entra ID. */
export function demoConnectorReading(info: SuiteInfo, reading: DemoReading): ConnectorConfig {
  const base = demoConnector(info);
  return {
    ...base,
    id: reading.id,
    name: reading.name,
    source: reading.source as ConnectorConfig['source'],
    targets: base.targets.map((t) => ({ ...t, mapping: t.type === 'jira-dc' ? reading.jira : reading.confluence })),
    ...(reading.schedule ? { schedule: reading.schedule } : {}),
  };
}

/** The demo connector reading the test slapd (ldaps with its generated CA) instead of Entra ID. */
export function demoLdapConnector(info: SuiteInfo, slapd: Slapd): ConnectorConfig {
  return demoConnectorReading(info, {
    id: 'contoso-ldap',
    name: 'Contoso (OpenLDAP)',
    jira: demoLdapJiraMapping(),
    confluence: demoLdapConfluenceMapping(),
    source: {
      type: 'ldap',
      preset: 'openldap',
      url: slapd.ldapsUrl,
      ca: slapd.ca,
      bindDn: slapd.reader.dn,
      bindPassword: { stored: 'source.bindPassword' },
      users: { baseDn: slapd.layout.peopleDn },
      groups: { baseDn: slapd.layout.groupsDn },
      nestedGroups: true,
      requiredGroups: [],
    },
  });
}

export function demoSecrets(info: SuiteInfo): Record<string, string> {
  return {
    'source.clientSecret': info.graph.clientSecret,
    'target.jira.auth.token': info.jira.pat,
    ...(info.confluence ? { 'target.confluence.auth.password': info.confluence.password } : {}),
  };
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const log = (line: string) => {
    if (!opts.json) console.log(line);
  };
  const type = opts.source ?? 'entra';
  log(`Starting ${DEMO_SOURCE_WHAT[type]} with ${opts.users} users, Jira DC and Confluence DC on 127.0.0.1 …`);
  const suite = await startSuite({ users: opts.users, confluence: true });
  let source: DemoSource | undefined;
  try {
    source = await startDemoSource(type, opts.users, suite);
  } catch (e) {
    await suite.close();
    throw e;
  }
  // A fresh data directory each time unless one is named: the emulators start empty, so the
  // links of an earlier demo would be stale.
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : mkdtempSync(join(tmpdir(), 'idsync-demo-'));
  const kept = Boolean(opts.dataDir || opts.keep);
  let store: Store | undefined;
  // Ctrl-C during the sync ends the process at once; the temporary directory goes with it.
  const abandon = (signal: NodeJS.Signals) => {
    if (!kept) rmSync(dataDir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', abandon).once('SIGTERM', abandon);
  const stopAbandoning = () => process.off('SIGINT', abandon).off('SIGTERM', abandon);
  try {
    for (const line of emulatorLines(suite.info)) log(line);
    for (const line of source?.lines ?? []) log(line);
    log(
      kept
        ? `Data directory: ${dataDir} (kept; browse it later with: npx idsync runs --data-dir ${dataDir})`
        : `Data directory: ${dataDir} (temporary: removed when the demo ends; --keep keeps it, --data-dir DIR names one)`,
    );
    store = await Store.open({ dataDir });
    const connector = source ? source.connector(suite.info) : demoConnector(suite.info);
    await store.connectors.save(connector, { secrets: { ...demoSecrets(suite.info), ...source?.secrets } });
    const engine = new SyncEngine(store, { ca: suite.info.graph.ca });
    log(`Full sync of ${connector.id} into ${connector.targets.map((t) => t.id).join(' and ')} …`);

    const progress = progressReporter(!opts.json);
    const result = await engine.run({ connector, kind: 'full', trigger: 'demo', onProgress: progress.onProgress });
    progress.stop();
    stopAbandoning();
    const { run } = result;
    if (opts.json) {
      // run.counts.targets holds the counts per target (Jira and Confluence side by side).
      printJson({ run: run.id, status: run.status, ...run.counts, error: run.error ?? undefined, dataDir, dataDirKept: kept });
    } else {
      const sample = await store.runs.items(run.id, { operation: ['created', 'failed'], limit: 4 });
      printItems(sample.items);
      // Once the demo has ended, a temporary directory is gone: only offer what will work.
      if (kept || !opts.once) log(`… see every user with: npx idsync run ${run.id} --data-dir ${dataDir}${kept ? '' : '   (while the demo runs)'}`);
      log(summaryLine(run));
      if (run.error) console.error(`error: ${run.error}`);
    }
    if (run.status === 'failed') process.exitCode = 1;
    if (opts.once) return;

    const { startServer } = await import('../server/index.ts');
    const { defaultServices } = await import('../server/services.ts');
    const services = { ...(await defaultServices(store)), engine: engineService(engine) };
    const server = await startServer({ store, services, port: opts.port ?? 0, logger: false });
    log('');
    const admins = await server.auth.countUsers();
    log(`Admin UI: ${server.url}${admins === 0 ? '   (open it and create the first administrator)' : ''}`);
    log('Press Ctrl-C to stop.');
    await untilStopped();
    await server.close();
  } finally {
    stopAbandoning();
    await store?.close();
    await suite.close();
    await source?.close();
    if (!kept) rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Where the emulators listen and how to log in, for trying them by hand (e.g. a second
 * connector in the UI). These are the emulators' fixed demo credentials, not secrets.
 */
export function emulatorLines(info: SuiteInfo): string[] {
  const lines = [
    'Emulators (they stop with the demo):',
    `  Entra ID (Graph)  ${info.graph.graphUrl}   tenant ${info.graph.tenantId}, client id ${info.graph.clientId}, client secret ${info.graph.clientSecret}`,
    `                    (Graph and its token endpoint; self-signed TLS that only the demo trusts)`,
    `  Jira DC           ${info.jira.url}   ${info.jira.username} / ${info.jira.password}, personal access token ${info.jira.pat}`,
  ];
  if (info.confluence) lines.push(`  Confluence DC     ${info.confluence.url}   ${info.confluence.username} / ${info.confluence.password}`);
  return lines;
}

function engineService(engine: SyncEngine) {
  return {
    run: engine.run.bind(engine),
    testConnection: engine.testConnection.bind(engine),
    attributes: engine.attributes.bind(engine),
    sampleUsers: engine.sampleUsers.bind(engine),
    searchUsers: engine.searchUsers.bind(engine),
  };
}
