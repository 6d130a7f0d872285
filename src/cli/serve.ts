// `idsync serve`: the web UI, REST API and scheduler in one process, until Ctrl-C.
import { startServer } from '../server/index.ts';
import { deploymentFrom, type DeploymentFlags } from '../server/deployment.ts';
import { dataDirOf } from './context.ts';
import { notificationsFrom } from '../notify/index.ts';

export interface ServeOptions {
  dataDir?: string;
  host: string;
  port: number;
  /** Announce the address as one JSON line (for scripts that start idsync on port 0). */
  json?: boolean;
  /** --trust-proxy, --tls-cert/--tls-key, --allowed-secret-refs, --body-limit (else their environment variables). */
  deployment?: DeploymentFlags;
  /** --notifications FILE (else IDSYNC_NOTIFICATIONS_FILE). */
  notifications?: string;
}

export async function serve(opts: ServeOptions): Promise<void> {
  // IDSYNC_EXTRA_CA: a CA the connectors trust besides the system's, as for `idsync sync`.
  const ca = process.env.IDSYNC_EXTRA_CA;
  // Read before starting: a notifications file with a mistake stops `idsync serve` with the place of it.
  const notifications = notificationsFrom(opts.notifications ? { flag: opts.notifications } : {});
  const server = await startServer({ host: opts.host, port: opts.port, dataDir: dataDirOf(opts), ...(ca ? { connectorContext: { ca } } : {}), ...(notifications ? { notifications } : {}), ...deploymentFrom(opts.deployment ?? {}) });
  const admins = await server.auth.countUsers();
  if (opts.json) console.log(JSON.stringify({ url: server.url, administratorExists: admins > 0 }));
  else {
    console.log(`idsync is running at ${server.url}`);
    if (admins === 0) console.log('No administrator exists yet: open the URL to create the first one (or set IDSYNC_ADMIN_PASSWORD).');
  }
  await untilStopped();
  await server.close();
}

/** Resolves on the first Ctrl-C or SIGTERM. */
export function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
