// A real Active Directory domain controller (Samba AD, Debian's samba + samba-ad-provision +
// samba-ad-dc) for tests: `samba-tool domain provision` into a temporary folder (about 10 s),
// then `samba -i` with only its LDAP service, on 127.0.0.1:389 (Samba's LDAP port is fixed).
// Used where it can run (root, port 389 free, the packages installed); tests skip otherwise.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'ldapts';

export interface SambaDc {
  url: string;
  baseDn: string;
  admin: { dn: string; password: string };
  client(): Promise<Client>;
  stop(): Promise<void>;
}

const SAMBA_TOOL = '/usr/bin/samba-tool';
const SAMBA = '/usr/sbin/samba';

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Why a Samba DC cannot be started here, or undefined when it can. */
export async function sambaUnavailable(): Promise<string | undefined> {
  if (!existsSync(SAMBA_TOOL) || !existsSync(SAMBA)) return 'samba is not installed (apt-get install samba samba-ad-provision samba-ad-dc)';
  if (!existsSync('/usr/share/samba/setup/ad-schema')) return 'samba-ad-provision is not installed';
  if (process.getuid?.() !== 0) return 'Samba AD needs root (it binds port 389)';
  if (!(await portFree(389))) return 'port 389 is taken';
  return undefined;
}

/** Whether any process of the group led by `pid` is still there. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startSambaDc(): Promise<SambaDc> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'idsync-samba-'));
  const password = 'Idsync-Test-Passw0rd';
  const realm = 'CORP.EXAMPLE.COM';
  const baseDn = 'DC=corp,DC=example,DC=com';
  const provision = spawnSync(SAMBA_TOOL, ['domain', 'provision', `--realm=${realm}`, '--domain=CORP', '--server-role=dc', '--dns-backend=NONE', `--adminpass=${password}`, `--targetdir=${dir}`, '--option=interfaces=lo', '--option=bind interfaces only=yes'], { encoding: 'utf8', timeout: 120_000 });
  if (provision.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`samba-tool domain provision failed (${provision.status}): ${provision.stderr.slice(-2000)}`);
  }
  const conf = path.join(dir, 'etc', 'smb.conf');
  // Only the LDAP server; simple binds over plain LDAP allowed (tests only).
  writeFileSync(conf, readFileSync(conf, 'utf8').replace('[global]', '[global]\n\tserver services = ldap\n\tldap server require strong auth = no\n\tlog file = ' + path.join(dir, 'log.%m')));
  const child: ChildProcess = spawn(SAMBA, ['-i', '-s', conf], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-3000)));
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      // samba -i runs its services as children of its own process group.
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await exited;
      clearTimeout(t);
    }
    // The group's other processes may outlive the main one by a moment, still writing into the
    // folder: wait until the group is gone (then take it down), and retry the removal.
    for (let i = 0; i < 50 && groupAlive(child.pid!); i++) await new Promise((r) => setTimeout(r, 100));
    if (groupAlive(child.pid!)) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  };
  const admin = { dn: `CN=Administrator,CN=Users,${baseDn}`, password };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`samba exited (${child.exitCode}): ${stderr}`);
    }
    const c = new Client({ url: 'ldap://127.0.0.1:389', timeout: 2000, connectTimeout: 1000 });
    const ok = await c.bind(admin.dn, admin.password).then(
      () => true,
      () => false,
    );
    await c.unbind().catch(() => undefined);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`samba did not answer LDAP binds within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url: 'ldap://127.0.0.1:389',
    baseDn,
    admin,
    async client() {
      const c = new Client({ url: 'ldap://127.0.0.1:389', timeout: 30_000 });
      await c.bind(admin.dn, admin.password);
      return c;
    },
    stop,
  };
}
