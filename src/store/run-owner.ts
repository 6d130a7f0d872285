// Who runs a run: the process recorded with a running run, and whether that process is still
// there. On the machine that started a run this is known at once (the pid is gone, a zombie, or
// now another process); elsewhere only the run's heartbeat can tell, so the store keeps its
// timeout for runs of other machines and containers.
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface RunOwner {
  /** os.hostname(), for messages. */
  host: string;
  pid: number;
  /** Random per process, so that a pid handed to a later process is not taken for the same one. */
  token: string;
  /**
   * Where a pid means the same process: on Linux the kernel boot and the pid namespace (two
   * containers, or two boots, never share one), elsewhere the host name.
   */
  pidSpace: string;
  /** When the process started, in clock ticks since boot (Linux /proc), to tell a reused pid apart. */
  startTicks: string | null;
}

/** Whether the process that owns a run still runs it, as far as this process can tell. */
export type OwnerState =
  /** This very process (alive by definition; the heartbeat says whether it still works on the run). */
  | 'this-process'
  /** Another live process in this pid space, the same one that started the run. */
  | 'alive'
  /** The process that started the run is gone from this pid space. */
  | 'gone'
  /** Another machine or container, or nothing recorded: only the heartbeat can tell. */
  | 'unknown';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** State letter and start time of a process from /proc/<pid>/stat (fields 3 and 22; the name in field 2 may hold spaces and parentheses). */
function procStat(pid: number | 'self'): { state: string; startTicks: string } | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTicks = fields[19];
  return state && startTicks ? { state, startTicks } : undefined;
}

function pidSpaceOfThisProcess(): string {
  const boot = readText('/proc/sys/kernel/random/boot_id');
  let ns: string | undefined;
  try {
    ns = readlinkSync('/proc/self/ns/pid');
  } catch {
    ns = undefined;
  }
  return boot && ns ? `linux:${boot}:${ns}` : `host:${hostname()}`;
}

let self: RunOwner | undefined;

/** This process as the owner of the runs it starts. */
export function thisProcess(): RunOwner {
  self ??= { host: hostname(), pid: process.pid, token: randomUUID(), pidSpace: pidSpaceOfThisProcess(), startTicks: procStat('self')?.startTicks ?? null };
  return self;
}

/** Whether the recorded owner of a run still lives. Never says 'gone' for a process it cannot see. */
export function ownerState(owner: Partial<RunOwner>): OwnerState {
  const me = thisProcess();
  if (!owner.pid || !owner.token || owner.pidSpace !== me.pidSpace) return 'unknown';
  if (owner.token === me.token) return 'this-process';
  // Our own pid with another token: the recorded process ended and the pid came round to us.
  if (owner.pid === me.pid) return 'gone';
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'gone';
    if (code !== 'EPERM') return 'unknown'; // EPERM: it exists, under another user
  }
  const now = procStat(owner.pid);
  if (!now) return 'alive';
  // Killed but not yet reaped by its parent, or the pid now belongs to a process started later.
  if (now.state === 'Z' || now.state === 'X') return 'gone';
  if (owner.startTicks && now.startTicks !== owner.startTicks) return 'gone';
  return 'alive';
}

export function describeOwner(owner: Partial<RunOwner>): string {
  return owner.pid ? `pid ${owner.pid} on host ${owner.host ?? 'unknown'}` : 'an unrecorded process';
}
