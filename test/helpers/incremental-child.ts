// An incremental sync in a process of its own, for crash tests that SIGKILL it part-way, with
// the in-memory identity provider given as it stands in the parent (its users and change log):
// `node --import tsx test/helpers/incremental-child.ts '<json>'` with {store, connector, dataset}.
import { Store, type StoreOptions } from '../../src/store/index.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { SourceUser } from '../../src/core/types.ts';
import { memoryDataset, type MemoryDataset } from './memory-source.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  store: StoreOptions;
  connector: ConnectorConfig;
  dataset: { name: string; users: SourceUser[]; log: MemoryDataset['log']; pageSize: number };
};
const ds = memoryDataset(spec.dataset.name, spec.dataset.users, spec.dataset.pageSize);
ds.log = spec.dataset.log;
const store = await Store.open(spec.store);
const engine = new SyncEngine(store, { fastRetries: true });
const result = await engine.run({ connector: spec.connector, kind: 'incremental', trigger: 'cli' });
process.stdout.write(`${JSON.stringify({ status: result.run.status, error: result.run.error, counts: result.run.counts })}\n`);
await store.close();
