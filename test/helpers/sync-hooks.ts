// The hooks of a suite that syncs into emulators: the emulators started once, before each test
// reset, with a fresh store and a SyncEngine on it; after all, both closed. Shared by the engine
// tests (test/engine*.test.ts) and the end-to-end suites (test/e2e/harness.ts re-exports it).
import { after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { SyncEngine } from '../../src/engine/engine.ts';
import type { EngineDeps } from '../../src/engine/quarantine.ts';
import type { ConnectorContext } from '../../src/sources/registry.ts';
import { openSqliteStore, type TestStore } from './stores.ts';

/** One test's world: the emulators (started once per suite), a fresh store and an engine on it. */
export interface SyncWorld<E> {
  env: E;
  t: TestStore;
  engine: SyncEngine;
}

/**
 * The hooks of a syncing suite: `start` the emulators once; before each test `reset` them,
 * open a fresh store (`openStore`, SQLite by default) and a SyncEngine that trusts `ca` (as an
 * administrator trusts a company CA) and retries fast; after all, the store and the emulators
 * closed. `started` receives the emulators once, `ready` each test's world (assign them to the
 * suite's variables). Call it inside the suite's describe.
 */
export function syncHooks<E extends { close(): Promise<void> }>(opts: {
  start(): Promise<E>;
  reset(env: E): void | Promise<void>;
  /** The emulators' CA when they speak TLS. */
  ca?(env: E): string | undefined;
  openStore?: () => Promise<TestStore>;
  /** More of the engine's context (e.g. `notice`). */
  context?: Omit<ConnectorContext, 'ca' | 'fastRetries'>;
  /** The engine's clock and quarantine hook. */
  deps?: EngineDeps;
  started?(env: E): void;
  ready(world: SyncWorld<E>): void;
}): void {
  let env: E | undefined;
  let t: TestStore | undefined;
  before(async () => {
    env = await opts.start();
    opts.started?.(env);
  });
  after(async () => {
    await t?.dispose();
    await env?.close();
  });
  beforeEach(async () => {
    await opts.reset(env!);
    await t?.dispose();
    t = undefined;
    t = await (opts.openStore ?? openSqliteStore)();
    opts.ready({ env: env!, t, engine: new SyncEngine(t.store, { ca: opts.ca?.(env!), fastRetries: true, ...opts.context }, opts.deps) });
  });
}

/** Jira DC back to its built-in users and groups, no faults, counters zeroed. */
export async function resetJira(jira: { url: string }): Promise<void> {
  const res = await fetch(`${jira.url}/_emulator/reset`, { method: 'POST' });
  assert.ok(res.ok, `the Jira emulator was reset (${res.status})`);
}
