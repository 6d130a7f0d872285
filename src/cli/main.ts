// The `idsync` command line.
import { Command, CommanderError, Option } from 'commander';
import { errorText, IdsyncError } from '../core/errors.ts';
import { SyncEngine } from '../engine/engine.ts';
import { ConfigError, describePlace } from '../config/validate.ts';
import type { SyncResult } from '../engine/api.ts';
import type { ItemOperation, RunKind } from '../core/types.ts';
import { openStore, resolveConnector, type GlobalOptions } from './context.ts';
import { unlistedOf } from '../store/runs.ts';
import { formatChange, printItems, printJson, progressReporter, summaryLine } from './output.ts';
import { EXIT_USAGE, limitOption, nonEmpty, operationOption, portOption, wholeNumber } from './options.ts';
import { cliNotifier, notifyCommand } from './notify.ts';
import { runAndNotify } from '../notify/index.ts';
import { quarantineNotifier } from '../notify/quarantine-hook.ts';
import { quarantineCommand } from './quarantine.ts';
import { DEMO_SOURCES, type DemoSourceType } from './demo-sources.ts';
import { scimCommands } from './scim.ts';

/** Exit codes: 0 success, 1 the run or command failed, 2 a usage error, 3 the run finished but some users failed. */
const EXIT_FAILED = 1;
const EXIT_PARTIAL = 3;

const program = new Command()
  .name('idsync')
  .description('Sync users, groups and attributes from your identity provider into Jira, Confluence and Crowd.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  // Usage errors end in the catch below (exit 2) instead of commander's own process.exit(1);
  // every subcommand inherits this.
  .exitOverride()
  .addOption(new Option('--data-dir <dir>', 'where idsync keeps its database and key').env('IDSYNC_DATA_DIR').argParser(nonEmpty));

function withConnector(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML configuration file (otherwise: connectors saved in the store)')
    .option('--connector <id>', 'connector to use (needed when several are configured)')
    .option('--json', 'machine-readable output');
}

function globals(cmd: Command): GlobalOptions {
  return { ...program.opts(), ...cmd.opts() } as GlobalOptions;
}

async function runSync(cmd: Command, requested: 'full' | 'user', userRef?: string): Promise<void> {
  const opts = globals(cmd) as GlobalOptions & { dryRun?: boolean; reconcile?: boolean; details?: boolean; incremental?: boolean; notifications?: string };
  const kind: RunKind = opts.incremental ? 'incremental' : requested;
  const store = await openStore(opts);
  const progress = progressReporter(!opts.json);
  try {
    const connector = await resolveConnector(opts, store);
    const notifier = cliNotifier(opts);
    const engine = new SyncEngine(store, { ca: process.env.IDSYNC_EXTRA_CA }, { onQuarantine: quarantineNotifier(notifier) });
    const result = await runAndNotify(notifier, { connector, kind, userRef, dryRun: opts.dryRun, reconcile: opts.reconcile, trigger: 'cli', onProgress: progress.onProgress, onWaiting: (m) => console.error(m) }, (req) => engine.run(req));
    progress.stop();
    await report(result, store, opts);
    process.exitCode = exitCodeOf(result);
    // The result is out; a failed run's notification (bounded by its channels' timeouts) goes before the process ends.
    await notifier.drain();
  } finally {
    progress.stop();
    await store.close();
  }
}

async function report(result: SyncResult, store: Awaited<ReturnType<typeof openStore>>, opts: GlobalOptions & { details?: boolean }): Promise<void> {
  const { run } = result;
  if (opts.json) {
    printJson({ run: run.id, kind: run.kind, status: run.status, dryRun: run.dryRun, ...run.counts, error: run.error ?? undefined, notice: run.notice ?? undefined, user: result.user });
    return;
  }
  if (result.user) {
    const u = result.user;
    console.log(u.found ? `found in source: ${u.label} (${u.sourceId})` : `not found in source${u.sourceId ? `: ${u.label ?? u.sourceId} is linked but gone` : ''}`);
    if (u.outOfScope) console.log(`skipped: ${u.outOfScope}`);
    for (const [target, values] of Object.entries(u.mapped)) {
      console.log(`mapped for ${target}:`);
      for (const [k, v] of Object.entries(values)) console.log(`  ${k} = ${JSON.stringify(v)}`);
    }
    for (const t of u.targets) {
      console.log(`${t.targetId}: ${t.match ?? `matched by ${t.matched}${t.targetKey ? ` (${t.targetKey})` : ''}`} → ${t.operation}${t.error ? `: ${t.error}` : ''}`);
      for (const c of t.changes) console.log(`  ${formatChange(c)}`);
    }
  } else {
    const changed = await store.runs.items(run.id, { operation: ['created', 'updated', 'failed', 'skipped'], limit: opts.details ? 1000 : 20 });
    printItems(changed.items);
    if (changed.total > changed.items.length) console.log(`… and ${changed.total - changed.items.length} more (idsync run ${run.id})`);
  }
  console.log(summaryLine(run));
  if (run.error) console.error(`error: ${run.error}`);
}

function exitCodeOf(result: SyncResult): number {
  if (result.run.status === 'failed') return EXIT_FAILED;
  if (result.run.status === 'partial') return EXIT_PARTIAL;
  return 0;
}

withConnector(program.command('sync'))
  .description('run a full sync of a connector (or, with --incremental, only what changed since the last run)')
  .option('--incremental', 'read only what changed since the last run (sources with a change feed, e.g. Entra ID delta); the first run reads everyone')
  .option('--dry-run', 'simulate: plan everything, write nothing')
  .option('--reconcile', "compare with the targets' actual values and repair manual changes")
  .option('--details', 'list every changed user, not only the first 20')
  .option('--notifications <file>', 'where a failed run is told (default: the notifications block of --config, else IDSYNC_NOTIFICATIONS_FILE)')
  .action(async (_o, cmd: Command) => runSync(cmd, 'full'));

withConnector(program.command('sync-user'))
  .description('sync one user, named by UPN, mail, object id or Atlassian username')
  .argument('<user>', 'the user to sync', nonEmpty)
  .option('--dry-run', 'simulate: show what would change, write nothing')
  .option('--reconcile', "compare with the target's actual values")
  .option('--notifications <file>', 'where a failed run is told (default: the notifications block of --config, else IDSYNC_NOTIFICATIONS_FILE)')
  .action(async (user: string, _o, cmd: Command) => runSync(cmd, 'user', user));

program
  .command('runs')
  .description('list recent runs')
  .option('--connector <id>', 'only this connector')
  .addOption(limitOption('how many', 20, 500))
  .option('--json', 'machine-readable output')
  .action(async (_o, cmd: Command) => {
    const opts = globals(cmd) as GlobalOptions & { limit: number };
    const store = await openStore(opts);
    try {
      const runs = await store.runs.list({ connectorId: opts.connector, limit: opts.limit });
      if (opts.json) return printJson(runs);
      if (runs.length === 0) return console.log('no runs yet: start one with `idsync sync`');
      for (const r of runs) console.log(`${r.startedAt}  ${r.connectorId.padEnd(14)} ${summaryLine(r)}`);
    } finally {
      await store.close();
    }
  });

program
  .command('run')
  .description("show one run's result: per user, what changed from what to what")
  .argument('<id>', 'run id (see `idsync runs`)', nonEmpty)
  .addOption(operationOption())
  .option('--search <text>', 'only users whose name or id contains this')
  .addOption(limitOption('how many items', 200, 100_000))
  .option('--json', 'machine-readable output')
  .action(async (id: string, _o, cmd: Command) => {
    const opts = globals(cmd) as GlobalOptions & { operation?: ItemOperation; search?: string; limit: number };
    const store = await openStore(opts);
    try {
      const run = await store.runs.get(id);
      if (!run) throw new IdsyncError('NOT_FOUND', `no run ${id}`, { hint: 'list runs with `idsync runs`' });
      const items = await store.runs.items(id, { operation: opts.operation, search: opts.search, limit: opts.limit });
      const unlisted = unlistedOf(run.counts, { operation: opts.operation });
      if (opts.json) return printJson({ run, total: items.total, items: items.items, unlisted });
      console.log(summaryLine(run));
      if (run.error) console.log(`error: ${run.error}`);
      printItems(items.items);
      if (items.total > items.items.length) console.log(`… ${items.total - items.items.length} more; use --limit or --operation`);
      if (unlisted > 0) console.log(`${unlisted} users unchanged (not listed: a full sync lists only the users it changed, failed, held or skipped)`);
    } finally {
      await store.close();
    }
  });

quarantineCommand(program, globals, EXIT_FAILED);

withConnector(program.command('validate'))
  .description('check a configuration file without connecting anywhere')
  .action(async (_o, cmd: Command) => {
    const opts = globals(cmd);
    if (!opts.config) cmd.error('error: validate needs --config FILE', { exitCode: EXIT_USAGE, code: 'idsync.missingConfig' });
    const { loadConfigFile } = await import('../config/load.ts');
    const file = await loadConfigFile(opts.config);
    if (opts.json) return printJson({ ok: true, connectors: file.connectors.map((c) => c.id) });
    console.log(`${opts.config} is valid: ${file.connectors.map((c) => c.id).join(', ')}`);
  });

withConnector(program.command('test'))
  .description("test a connector's connections (identity provider and every target)")
  .action(async (_o, cmd: Command) => {
    const opts = globals(cmd);
    const store = await openStore(opts);
    try {
      const connector = await resolveConnector(opts, store);
      const report = await new SyncEngine(store, { ca: process.env.IDSYNC_EXTRA_CA }).testConnection(connector);
      if (opts.json) printJson(report);
      else {
        for (const [name, r] of [['source', report.source], ...Object.entries(report.targets)] as const) {
          for (const c of r.checks) console.log(`${c.ok ? '✓' : '✗'} ${name}: ${c.name}: ${c.message}`);
        }
      }
      if (!report.ok) process.exitCode = EXIT_FAILED;
    } finally {
      await store.close();
    }
  });

const config = program.command('config').description('move connector configuration between a YAML file and the store');

config
  .command('export')
  .description('write the stored connectors as YAML (secret values are never included)')
  .option('-o, --output <file>', 'write to a file instead of standard output')
  .option('--json', 'write JSON instead of YAML (config import reads either)')
  .action(async (_o, cmd: Command) => {
    const opts = globals(cmd) as GlobalOptions & { output?: string };
    const store = await openStore(opts);
    try {
      const { exportConfig, exportConfigData } = await import('../server/config-io.ts');
      const text = opts.json ? `${JSON.stringify(await exportConfigData(store), null, 2)}\n` : await exportConfig(store);
      if (opts.output) {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(opts.output, text);
        console.error(`wrote ${opts.output}`);
      } else process.stdout.write(text);
    } finally {
      await store.close();
    }
  });

config
  .command('import')
  .description('validate and save the connectors of a YAML file into the store (all or nothing)')
  .argument('<file>', 'idsync YAML configuration')
  .option('--json', 'machine-readable output')
  .action(async (file: string, _o, cmd: Command) => {
    const opts = globals(cmd);
    const store = await openStore(opts);
    try {
      const { readFileSync } = await import('node:fs');
      const { importConfig } = await import('../server/config-io.ts');
      const { defaultServices } = await import('../server/services.ts');
      const result = await importConfig(store, readFileSync(file, 'utf8'), await defaultServices(store));
      if (opts.json) return printJson(result);
      console.log(`imported ${result.saved.join(', ')}`);
      for (const w of result.warnings) console.log(`warning: connector ${w.connector}: ${w.path.join('.')}: ${w.message}`);
    } finally {
      await store.close();
    }
  });

notifyCommand(program, (cmd) => globals(cmd) as unknown as Record<string, unknown>);

program
  .command('demo')
  .description('start emulated Entra ID, Jira and Confluence with a sample company, sync it and show the result')
  .option('--once', 'exit after the sync instead of keeping the emulators and UI up')
  .addOption(new Option('--users <n>', 'size of the sample organisation (1 to 100000)').argParser(wholeNumber(1, 100_000)).default(300))
  .addOption(portOption('port of the web UI, 0 to 65535 (default: a free one)'))
  .option('--keep', 'keep the temporary data directory when the demo ends')
  .option('--json', 'print the run summary as JSON')
  .addOption(new Option('--source <type>', 'the identity provider to sync from: entra, okta, google (emulated) or ldap (a real OpenLDAP started for the demo)').choices([...DEMO_SOURCES]).default('entra'))
  .addHelpText(
    'after',
    '\nThe demo keeps its data in a temporary directory, removed when it ends, unless --keep\n' +
      'is given or --data-dir DIR names one. IDSYNC_DATA_DIR is ignored here, so that a demo\n' +
      'never writes into a real store.',
  )
  .action(async (_o, cmd: Command) => {
    const opts = cmd.opts() as { once?: boolean; json?: boolean; users: number; port?: number; keep?: boolean; source?: DemoSourceType };
    const { runDemo } = await import('./demo.ts');
    // Only a directory named on the command line: IDSYNC_DATA_DIR may point at a real store.
    const dataDir = program.getOptionValueSource('dataDir') === 'cli' ? (program.opts() as GlobalOptions).dataDir : undefined;
    await runDemo({ ...opts, dataDir });
  });

program
  .command('serve')
  .description('run the web UI, REST API and scheduler')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .addOption(portOption('port, 0 to 65535 (0: any free one)', 8080))
  .option('--json', 'announce the address as one JSON line ({"url", "administratorExists"})')
  .option('--trust-proxy <list|true|hops>', 'behind a reverse proxy: its addresses or CIDR ranges, true (any) or a hop count; X-Forwarded-For/-Proto are then believed (default: IDSYNC_TRUST_PROXY, else none)')
  .option('--tls-cert <file>', 'serve https with this PEM certificate (chain) (default: IDSYNC_TLS_CERT)')
  .option('--tls-key <file>', 'the PEM private key of --tls-cert (default: IDSYNC_TLS_KEY)')
  .option('--allowed-secret-refs <list>', 'env:NAME, env:PREFIX_*, file:/DIR entries the web UI and API may reference (default: IDSYNC_ALLOWED_SECRET_REFS, else none)')
  .option('--body-limit <size>', 'largest request body of an authenticated API call, e.g. 2mb (default: IDSYNC_BODY_LIMIT, else 2mb)')
  .option('--notifications <file>', 'YAML file with the notifications block: where failed runs and held cleanups are told (default: IDSYNC_NOTIFICATIONS_FILE, else nobody)')
  .action(async (_o, cmd: Command) => {
    const opts = globals(cmd) as GlobalOptions & { host: string; port: number; trustProxy?: string; tlsCert?: string; tlsKey?: string; allowedSecretRefs?: string; bodyLimit?: string; notifications?: string };
    const { serve } = await import('./serve.ts');
    await serve({ dataDir: opts.dataDir, host: opts.host, port: opts.port, json: opts.json, ...(opts.notifications ? { notifications: opts.notifications } : {}), deployment: { trustProxy: opts.trustProxy, tlsCert: opts.tlsCert, tlsKey: opts.tlsKey, allowedSecretRefs: opts.allowedSecretRefs, bodyLimit: opts.bodyLimit } });
  });

scimCommands(program, globals);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // Commander has printed the message (or the help / version asked for) already.
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
    return;
  }
  if (e instanceof ConfigError) {
    console.error(`error: ${e.where} is invalid:`);
    for (const i of e.issues.filter((x) => x.severity === 'error')) {
      console.error(`  ${describePlace(i, e.targetIds)}: ${i.message}${i.position !== undefined && !i.message.includes('position') ? ` (at character ${i.position})` : ''}`);
    }
  } else {
    console.error(`error: ${errorText(e)}`);
    if (process.env.IDSYNC_DEBUG && e instanceof Error) console.error(e.stack);
  }
  process.exitCode = EXIT_FAILED;
});
