// The data directory holds directory personal data (run items, links) and the key to the stored
// secrets: it is for the service's user only, whatever the umask says.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';

/** Creates the directory (and missing parents) as 0700. One the operator made is left as it is. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Creates the file as 0600 when missing; an existing one readable by others (an older idsync's) is narrowed to 0600. */
export function ensurePrivateFile(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  narrow(path);
}

/** Narrows an existing file to 0600 (SQLite's -wal and -shm files, created with the database's mode). */
export function narrowIfExists(path: string): void {
  if (existsSync(path)) narrow(path);
}

function narrow(path: string): void {
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
}
