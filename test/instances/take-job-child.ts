// A process that takes a connector's job from the pg-boss queue and never claims its run: it
// says "taken <job id>" and hangs, to be SIGKILLed by the test (the window between taking a job
// and claiming its run, where no run exists for another process to find dead).
import { Store } from '../../src/store/index.ts';
import { PgBossJobQueue } from '../../src/jobs/pg-boss-queue.ts';

const { store: options, connectorId } = JSON.parse(process.argv[2]!) as { store: { dataDir: string; databaseUrl: string }; connectorId: string };
const store = await Store.open(options);
const queue = await PgBossJobQueue.open(store.db, console, { pollingIntervalSeconds: 0.2 });
await queue.start(async (_job, meta) => {
  process.stdout.write(`taken ${meta.jobId}\n`);
  await new Promise(() => undefined);
}, [connectorId]);
