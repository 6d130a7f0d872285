// Runs `idsync` as an administrator does: `node bin/idsync.mjs ...` in a child process.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end. Asynchronous on purpose: emulators may answer from this process. */
export function runCommand(command: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Outcome> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

export interface RunningServe {
  url: string;
  administratorExists: boolean;
  stop(): Promise<void>;
}

/** Starts `idsync serve --port 0 --json` and waits for its address line. */
export async function startServe(args: string[], env: Record<string, string | undefined> = {}): Promise<RunningServe> {
  const child = spawn(process.execPath, ['bin/idsync.mjs', ...args, 'serve', '--port', '0', '--json'], {
    cwd: ROOT,
    env: { ...process.env, IDSYNC_ADMIN_PASSWORD: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = new Promise((r) => child.once('close', r));
  const stop = async () => {
    child.kill('SIGTERM');
    await closed;
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code} before announcing itself: ${out}\n${err}`)));
    });
    const announced = JSON.parse(line) as { url: string; administratorExists: boolean };
    return { ...announced, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
