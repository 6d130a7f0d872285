// A full (or, with kind 'incremental', an incremental) sync in a process of its own, for crash
// tests that SIGKILL it part-way:
// `node --import tsx test/helpers/sync-child.ts '<json>'` with {store: StoreOptions, connector, ca, kind?}.
// Secrets come from the environment the parent set (test/e2e/harness.ts).
import { Store, type StoreOptions } from '../../src/store/index.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as { store: StoreOptions; connector: ConnectorConfig; ca?: string; kind?: 'full' | 'incremental' };
const store = await Store.open(spec.store);
const engine = new SyncEngine(store, { ca: spec.ca, fastRetries: true });
const result = await engine.run({ connector: spec.connector, kind: spec.kind ?? 'full', trigger: 'cli' });
process.stdout.write(`${JSON.stringify({ status: result.run.status, error: result.run.error, counts: result.run.counts })}\n`);
await store.close();
