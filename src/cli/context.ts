// What every command needs: the data directory, the store, and the connector to act on (from
// a YAML file with --config, or saved in the store through the UI / `config import`).
import { resolve } from 'node:path';
import { Store } from '../store/index.ts';
import { IdsyncError } from '../core/errors.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import { findConnector, loadConfigFile } from '../config/load.ts';
import { assertValidConnector } from '../config/validate.ts';

export interface GlobalOptions {
  dataDir?: string;
  config?: string;
  connector?: string;
  json?: boolean;
}

export function dataDirOf(opts: GlobalOptions): string {
  return resolve(opts.dataDir ?? process.env.IDSYNC_DATA_DIR ?? '.idsync');
}

export async function openStore(opts: GlobalOptions): Promise<Store> {
  return Store.open({ dataDir: dataDirOf(opts) });
}

export async function resolveConnector(opts: GlobalOptions, store: Store): Promise<ConnectorConfig> {
  if (opts.config) {
    const file = await loadConfigFile(opts.config);
    return findConnector(file, opts.connector, opts.config);
  }
  const stored = await store.connectors.list();
  if (stored.length === 0) {
    throw new IdsyncError('CONFIG', 'no connector configured', {
      hint: 'pass --config idsync.yaml, or import one with `idsync config import FILE`, or create one in the web UI',
    });
  }
  const pick = opts.connector ? stored.find((c) => c.config.id === opts.connector) : stored.length === 1 ? stored[0] : undefined;
  if (!pick) {
    throw new IdsyncError('CONFIG', opts.connector ? `no connector "${opts.connector}" in the store` : 'several connectors are configured', {
      hint: `choose one with --connector (${stored.map((c) => c.config.id).join(', ')})`,
    });
  }
  return assertValidConnector(pick.config, `connector ${pick.config.id}`);
}
