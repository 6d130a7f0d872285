// `idsync quarantine list|show|approve|reject`: cleanups the engine held back (issue 10). The
// same operations as the REST API's /api/v1/quarantines, on the local store.
import { Command, InvalidArgumentError, Option } from 'commander';
import { SyncEngine } from '../engine/engine.ts';
import { notFound, type Quarantine } from '../store/quarantine.ts';
import { openStore, resolveConnector, type GlobalOptions } from './context.ts';
import { printJson, summaryLine } from './output.ts';
import { limitOption, nonEmpty, wholeNumber } from './options.ts';

const STATUSES = ['open', 'approved', 'rejected'] as const;
const STATES = ['held', 'done', 'skipped', 'rejected'] as const;

/** Source ids, comma-separated (`--users a,b,c`): none empty, none with control characters. */
function sourceIdList(value: string): string[] {
  const ids = value.split(',').map((s) => s.trim());
  if (ids.some((s) => s === '')) throw new InvalidArgumentError('Give source ids separated by commas, none empty.');
  if (ids.some((s) => /\p{Cc}/u.test(s))) throw new InvalidArgumentError('Source ids must not contain control characters.');
  return [...new Set(ids)];
}

function line(q: Quarantine): string {
  return `${q.id}  ${q.connectorId.padEnd(14)} ${q.status.padEnd(8)} ${q.reason.padEnd(10)} ${q.held}/${q.affected} held  ${q.createdAt}`;
}

export function quarantineCommand(program: Command, globals: (cmd: Command) => GlobalOptions, exitFailed: number): void {
  const quarantine = program
    .command('quarantine')
    .description('review removals held back (an empty or short read, more leavers or group-membership removals than the safety threshold): list, show, approve or reject them')
    .addHelpText(
      'after',
      '\nA quarantine holds a cleanup that idsync did not trust: nothing was disabled or deleted.\n' +
        'Approving re-checks each user in the identity provider first (one who is back is skipped)\n' +
        'and then cleans up in a run of its own (see `idsync run ID`). Rejecting does nothing to the\n' +
        'users and closes the quarantine.\n\n' +
        'Examples:\n' +
        '  idsync quarantine list --status open\n' +
        '  idsync quarantine show q-abc123 --state held\n' +
        '  idsync quarantine approve q-abc123 --users 7f1c...,9a2e...\n' +
        '  idsync quarantine approve q-abc123 --all\n' +
        '  idsync quarantine reject q-abc123',
    );

  quarantine
    .command('list')
    .description('list quarantines, newest first')
    .option('--connector <id>', 'only this connector')
    .addOption(new Option('--status <status>', 'only quarantines in this status').choices(STATUSES))
    .addOption(limitOption('how many', 20, 500))
    .option('--json', 'machine-readable output')
    .action(async (_o, cmd: Command) => {
      const opts = globals(cmd) as GlobalOptions & { status?: (typeof STATUSES)[number]; limit: number };
      const store = await openStore(opts);
      try {
        const { total, items } = await store.quarantines.list({ connectorId: opts.connector, status: opts.status, limit: opts.limit });
        if (opts.json) return printJson({ total, quarantines: items });
        if (items.length === 0) return console.log('no quarantines: no cleanup was held back');
        for (const q of items) console.log(line(q));
        if (total > items.length) console.log(`… ${total - items.length} more; use --limit`);
      } finally {
        await store.close();
      }
    });

  quarantine
    .command('show')
    .description('show one quarantine: why, and every user it holds with the planned action')
    .argument('<id>', 'quarantine id (see `idsync quarantine list`)', nonEmpty)
    .addOption(new Option('--state <state>', 'only users in this state').choices(STATES))
    .addOption(limitOption('how many users', 200, 100_000))
    .addOption(new Option('--offset <n>', 'skip this many users (0 to 10000000)').argParser(wholeNumber(0, 10_000_000)).default(0))
    .option('--json', 'machine-readable output')
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd) as GlobalOptions & { state?: (typeof STATES)[number]; limit: number; offset: number };
      const store = await openStore(opts);
      try {
        const q = await store.quarantines.get(id);
        if (!q) throw notFound(id);
        const users = await store.quarantines.users(id, { state: opts.state, limit: opts.limit, offset: opts.offset });
        if (opts.json) return printJson({ quarantine: q, users });
        console.log(line(q));
        console.log(`why: ${q.message}`);
        console.log(`run: ${q.runId}${q.closedAt ? `; closed ${q.closedAt}${q.closedBy ? ` by ${q.closedBy}` : ''}` : ''}`);
        for (const u of users.items) {
          console.log(`  ${u.state.padEnd(8)} ${u.targetId}: ${u.label ?? u.sourceId} (${u.sourceId}, ${u.targetUsername ?? u.targetKey}) → ${u.planned}${u.groups?.length ? ` ${u.groups.join(', ')}` : ''} [${u.reason}]${u.note ? `: ${u.note}` : ''}`);
        }
        if (users.total > opts.offset + users.items.length) console.log(`… ${users.total - opts.offset - users.items.length} more; use --limit / --offset`);
      } finally {
        await store.close();
      }
    });

  quarantine
    .command('approve')
    .description('approve the cleanup for all held users (--all) or some (--users): each is re-checked first')
    .argument('<id>', 'quarantine id', nonEmpty)
    .option('--all', 'every user the quarantine still holds')
    .addOption(new Option('--users <ids>', 'only these users: source ids separated by commas').argParser(sourceIdList))
    .option('-c, --config <file>', "YAML configuration file with the quarantine's connector (otherwise: the store)")
    .option('--json', 'machine-readable output')
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd) as GlobalOptions & { all?: boolean; users?: string[] };
      if (!opts.all === !opts.users) cmd.error('error: approve needs either --all or --users ID,ID,... (not both)', { exitCode: 2, code: 'idsync.approveWhom' });
      const store = await openStore(opts);
      try {
        const q = await store.quarantines.get(id);
        if (!q) throw notFound(id);
        const connector = await resolveConnector({ ...opts, connector: q.connectorId }, store);
        const by = process.env.USER ? `${process.env.USER} (cli)` : 'cli';
        const result = await new SyncEngine(store, { ca: process.env.IDSYNC_EXTRA_CA }).approveQuarantine({ connector, quarantineId: id, sourceIds: opts.users, by, trigger: 'cli' });
        if (opts.json) return printJson(result);
        for (const s of result.skipped) console.log(`skipped ${s.targetId}: ${s.sourceId}: ${s.note}`);
        for (const s of result.notHeld) console.log(`not held by ${id}: ${s}`);
        console.log(summaryLine(result.run));
        console.log(`quarantine ${id}: ${result.quarantine.status}, ${result.quarantine.held} users still held`);
        if (result.run.status !== 'succeeded') process.exitCode = exitFailed;
      } finally {
        await store.close();
      }
    });

  quarantine
    .command('reject')
    .description('reject the cleanup: nothing is done to the users still held, and the quarantine is closed')
    .argument('<id>', 'quarantine id', nonEmpty)
    .option('--json', 'machine-readable output')
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd);
      const store = await openStore(opts);
      try {
        const by = process.env.USER ? `${process.env.USER} (cli)` : 'cli';
        const q = await store.quarantines.reject(id, by);
        if (opts.json) return printJson({ quarantine: q });
        console.log(`quarantine ${id} rejected: nothing was done to its users`);
      } finally {
        await store.close();
      }
    });
}
