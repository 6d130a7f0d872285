// `idsync serve`: the web UI, REST API and scheduler in one process, until Ctrl-C.
import { startServer } from '../server/index.ts';
import { dataDirOf } from './context.ts';

export interface ServeOptions {
  dataDir?: string;
  host: string;
  port: number;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const server = await startServer({ host: opts.host, port: opts.port, dataDir: dataDirOf(opts) });
  const admins = await server.auth.countUsers();
  console.log(`idsync is running at ${server.url}`);
  if (admins === 0) console.log('No administrator exists yet: open the URL to create the first one (or set IDSYNC_ADMIN_PASSWORD).');
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
