// `idsync serve` processes for the several-instances tests: started as an administrator starts
// them, stopped (SIGTERM, then SIGKILL), and a wait on state that lives in another process.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from '../cli/processes.ts';
import type { Store } from '../../src/store/index.ts';
import { AuthRepo } from '../../src/store/auth.ts';

export interface Instance {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
  /** Resolves when the process has announced its address; rejects, with its output, when it exits first or is not up by STARTUP_DEADLINE_MS. */
  announced: Promise<void>;
}

/** Far more than a start takes on a loaded machine (a few seconds): a process not up by then is stuck, and the test says so with its output instead of waiting for its own timeout. */
const STARTUP_DEADLINE_MS = 45_000;
/** How long a serve process has to stop on SIGTERM before it is killed. */
const STOP_GRACE_MS = 25_000;

/**
 * The shared job queue's lease, renewal, maintenance and polling for these tests
 * (src/jobs/index.ts reads them from the environment): shorter than the defaults (45 s, 5 s,
 * 10 s, 2 s), so a job whose process was killed is handed on in seconds instead of the better
 * part of a minute, through the same expiry, maintenance and retry. A lease still spans ten
 * renewals, so a live process on a loaded machine keeps its job.
 */
export const JOB_LEASE_SECONDS = 20;
export const JOB_TIMINGS_ENV = {
  IDSYNC_JOB_LEASE_SECONDS: String(JOB_LEASE_SECONDS),
  IDSYNC_JOB_RENEW_MS: '2000',
  IDSYNC_JOB_MAINTENANCE_SECONDS: '2',
  IDSYNC_JOB_POLL_SECONDS: '0.5',
};

/** `idsync serve` as an administrator runs it, announcing its address as one JSON line (with the tests' job timings unless `env` says otherwise). */
export function serve(dataDir: string, env: Record<string, string>): Instance {
  const child = spawn(process.execPath, ['bin/idsync.mjs', '--data-dir', dataDir, 'serve', '--port', '0', '--json'], {
    cwd: ROOT,
    env: { ...process.env, IDSYNC_ADMIN_PASSWORD: undefined, ...JOB_TIMINGS_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const announced = new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`serve (pid ${child.pid}) did not announce itself within ${STARTUP_DEADLINE_MS / 1000} s:\n${out}`)), STARTUP_DEADLINE_MS);
    const check = () => {
      if (!out.includes('"url"')) return;
      clearTimeout(deadline);
      resolve();
    };
    child.stdout!.on('data', check);
    void exited.then((e) => {
      clearTimeout(deadline);
      reject(new Error(`serve exited (${e.code ?? e.signal}) before announcing itself:\n${out}`));
    });
  });
  // Rejections are looked at where the test awaits them; this one may come after the test has moved on.
  announced.catch(() => undefined);
  return { child, exited, output: () => out, announced };
}

/** Stops a serve process: SIGTERM, then SIGKILL if it has not exited after STOP_GRACE_MS. */
export async function stop(i: Instance): Promise<void> {
  if (i.child.exitCode !== null || i.child.signalCode !== null) return;
  i.child.kill('SIGTERM');
  const grace = setTimeout(() => i.child.kill('SIGKILL'), STOP_GRACE_MS);
  await i.exited;
  clearTimeout(grace);
}

/** Waits until `probe` answers something, looking again every 100 ms (the state is in another process). */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, instances: Instance[]): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    const dead = instances.find((i) => i.child.exitCode !== null && i.child.signalCode !== 'SIGKILL');
    assert.equal(dead, undefined, `an instance stopped while waiting for ${what}:\n${dead?.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


/** The address `idsync serve --json` announced, as one JSON line of its own (its log lines carry request urls, not this). */
export function addressOf(i: Instance): string {
  for (const line of i.output().split('\n')) {
    try {
      const v = JSON.parse(line) as { url?: unknown; level?: unknown };
      if (v.level === undefined && typeof v.url === 'string' && /^https?:/.test(v.url)) return v.url;
    } catch {
      // a log line that is not JSON
    }
  }
  assert.fail(`the instance (pid ${i.child.pid}) announced its address:\n${i.output()}`);
}

/** An administrator's API token in the shared store, for calling every instance's API. */
export async function adminToken(store: Store): Promise<string> {
  const auth = new AuthRepo(store.db);
  const admin = await auth.createUser('ops', 'not-a-password-hash', 'administrator');
  return (await auth.createToken(admin.id, 'test', 'administrator')).secret;
}
