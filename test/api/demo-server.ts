// A real idsync server (real engine, registries and store) over the emulated suite, with the
// demo connector saved and an administrator's bearer token: for API suites in which a sync
// really runs against Graph and Jira DC. Sockets, not inject, as a client would talk to it.
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { demoConnector, demoSecrets } from '../../src/cli/demo.ts';
import { startServer, type RunningServer, type StartOptions } from '../../src/server/index.ts';
import { Store } from '../../src/store/index.ts';
import type { RunFinished } from '../../src/server/progress-bus.ts';
import { unscheduled } from '../helpers/unscheduled.ts';

export interface DemoServer {
  suite: Suite;
  store: Store;
  server: RunningServer;
  /** The id of the saved demo connector. */
  connectorId: string;
  /** A request as the administrator (bearer token, JSON). */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Resolves with the next run that finishes; call it before starting the run. */
  nextRunFinished(): Promise<RunFinished>;
  close(): Promise<void>;
}

export async function startDemoServer(opts: { users: number; server?: Partial<StartOptions> }): Promise<DemoServer> {
  const suite = await startSuite({ users: opts.users, confluence: false });
  const store = await Store.open({ databaseUrl: ':memory:' });
  // No scheduled run in the background: the runs a suite counts are the ones it starts.
  const connector = unscheduled(demoConnector(suite.info));
  let server: RunningServer | undefined;
  let bearer: string;
  try {
    await store.connectors.save(connector, { secrets: demoSecrets(suite.info) });
    server = await startServer({ store, port: 0, logger: false, connectorContext: { ca: suite.info.graph.ca, fastRetries: true }, ...opts.server });
    const admin = await server.auth.createUser('admin', 'not-used-for-log-in', 'administrator');
    bearer = (await server.auth.createToken(admin.id, 'test', 'administrator')).secret;
  } catch (e) {
    await server?.close();
    await store.close();
    await suite.close();
    throw e;
  }
  const running = server;
  return {
    suite,
    store,
    server: running,
    connectorId: connector.id,
    api: (path, init = {}) => fetch(`${running.url}${path}`, { ...init, headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...init.headers } }),
    nextRunFinished: () =>
      new Promise<RunFinished>((resolve) => {
        const stop = running.bus.subscribe((e) => {
          if (e.type === 'run-finished') {
            stop();
            resolve(e);
          }
        });
      }),
    async close() {
      await running.close();
      await store.close();
      await suite.close();
    },
  };
}
