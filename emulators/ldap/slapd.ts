// A real OpenLDAP server (Debian's slapd) for tests and the demo: started as the current user
// in a temporary folder on free loopback ports (ldap:// with StartTLS, and ldaps://) with a
// generated certificate, a slapd.conf (mdb, core/cosine/inetOrgPerson/nis schemas, the
// memberof and ppolicy overlays) and the sample organisation loaded with slapadd, which is
// what makes a reseed take a fraction of a second. scripts/setup.sh installs slapd.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'ldapts';
import { generate } from 'selfsigned';
import type { Org } from '../org/types.ts';
import { layoutFor, orgLdif, type LdapLayout, type SeededNames } from './org-ldif.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';

const SLAPD = process.env.IDSYNC_SLAPD ?? '/usr/sbin/slapd';
const SLAPADD = process.env.IDSYNC_SLAPADD ?? '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

export interface SlapdOptions {
  /** Base DN of the directory (default dc=contoso,dc=com). */
  suffix?: string;
  /** Server-side limit on the entries one paged search returns in total (size.prtotal); unlimited by default. */
  pagedTotalLimit?: number;
  /** Start a fault-injecting proxy in front of the plain port (see fault-proxy.ts). */
  faultProxy?: boolean;
}

export interface Credentials {
  dn: string;
  password: string;
}

export interface Slapd {
  layout: LdapLayout;
  /** The temporary folder holding config, certificate and database (removed by stop). */
  dir: string;
  /** ldap://127.0.0.1:<port>: plain, StartTLS offered. */
  url: string;
  /** ldaps://localhost:<port>. */
  ldapsUrl: string;
  /** The plain URL through the fault proxy (when started with faultProxy). */
  proxyUrl?: string;
  proxy?: FaultProxy;
  /** PEM of the (self-signed) certificate slapd presents: what an admin would give as the private CA. */
  ca: string;
  /** The rootdn: writes (tests driving the directory). */
  admin: Credentials;
  /** A read-only service account, as an administrator would give idsync. */
  reader: Credentials;
  /** Names of the seeded org's users and groups (DN, uid). */
  names: SeededNames;
  /** Rebuilds the directory from `org` (stop, slapadd, start): the same ids every time. */
  seed(org: Org): Promise<SeededNames>;
  /** An ldapts client bound as the rootdn, for changing the directory under a test. */
  adminClient(): Promise<Client>;
  stop(): Promise<void>;
}

/** Whether slapd is installed (scripts/setup.sh installs it). */
export function slapdAvailable(): boolean {
  return existsSync(SLAPD) && existsSync(SLAPADD);
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`slapd did not listen on ${port} within ${timeoutMs} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function slapdConf(dir: string, layout: LdapLayout, admin: Credentials, reader: Credentials, opts: SlapdOptions): string {
  const prtotal = opts.pagedTotalLimit ? String(opts.pagedTotalLimit) : 'unlimited';
  return `# generated for a test: see emulators/ldap/slapd.ts
include ${SCHEMA_DIR}/core.schema
include ${SCHEMA_DIR}/cosine.schema
include ${SCHEMA_DIR}/inetorgperson.schema
include ${SCHEMA_DIR}/nis.schema
modulepath ${MODULE_DIR}
moduleload back_mdb
moduleload memberof
moduleload ppolicy
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
TLSCertificateFile ${dir}/cert.pem
TLSCertificateKeyFile ${dir}/key.pem
sizelimit size.soft=500 size.hard=500 size.prtotal=${prtotal}

database mdb
suffix "${layout.suffix}"
rootdn "${admin.dn}"
rootpw ${admin.password}
directory ${dir}/db
maxsize 1073741824
index objectClass,entryUUID eq
index uid,mail,cn eq,sub
index member,memberOf,manager eq
index modifyTimestamp,entryCSN eq
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="${reader.dn}" read by * none
overlay memberof
memberof-refint TRUE
overlay ppolicy
`;
}

export async function startSlapd(org: Org, opts: SlapdOptions = {}): Promise<Slapd> {
  if (!slapdAvailable()) throw new Error(`slapd is not installed (${SLAPD}): run scripts/setup.sh, which installs the Debian packages slapd and ldap-utils`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'idsync-slapd-'));
  const layout = layoutFor(opts.suffix ?? 'dc=contoso,dc=com');
  const admin: Credentials = { dn: `cn=admin,${layout.suffix}`, password: `admin-${randomBytes(8).toString('hex')}` };
  const reader: Credentials = { dn: `cn=idsync-reader,${layout.suffix}`, password: `reader-${randomBytes(8).toString('hex')}` };
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    days: 30,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  } as Parameters<typeof generate>[1]);
  await writeFile(path.join(dir, 'cert.pem'), pems.cert);
  await writeFile(path.join(dir, 'key.pem'), pems.private, { mode: 0o600 });
  const confPath = path.join(dir, 'slapd.conf');
  await writeFile(confPath, slapdConf(dir, layout, admin, reader, opts));
  const [port, tlsPort] = [await freePort(), await freePort()];

  let child: ChildProcess | undefined;
  let stderr = '';
  const start = async () => {
    stderr = '';
    // -d 0: stay in the foreground (so the child is slapd itself and a kill stops it), quietly.
    child = spawn(SLAPD, ['-f', confPath, '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    await waitForPort(port, child, () => stderr);
    await waitForPort(tlsPort, child, () => stderr);
  };
  const halt = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  const load = async (o: Org): Promise<SeededNames> => {
    await rm(path.join(dir, 'db'), { recursive: true, force: true });
    await mkdir(path.join(dir, 'db'));
    const { ldif, names } = orgLdif(o, layout, reader);
    const ldifPath = path.join(dir, 'seed.ldif');
    await writeFile(ldifPath, ldif);
    const r = spawnSync(SLAPADD, ['-q', '-f', confPath, '-l', ldifPath], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`slapadd failed (${r.status}): ${r.stderr}`);
    return names;
  };

  let names: SeededNames;
  let proxy: FaultProxy | undefined;
  try {
    names = await load(org);
    await start();
    proxy = opts.faultProxy ? await startFaultProxy({ host: '127.0.0.1', port }) : undefined;
  } catch (e) {
    // A failed start leaves nothing behind: no slapd, no folder.
    await halt();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const server: Slapd = {
    layout,
    dir,
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://localhost:${tlsPort}`,
    proxyUrl: proxy?.url,
    proxy,
    ca: pems.cert,
    admin,
    reader,
    get names() {
      return names;
    },
    async seed(o) {
      proxy?.dropAll();
      await halt();
      names = await load(o);
      await start();
      return names;
    },
    async adminClient() {
      const c = new Client({ url: `ldap://127.0.0.1:${port}`, timeout: 10_000, connectTimeout: 5_000 });
      await c.bind(admin.dn, admin.password);
      return c;
    },
    async stop() {
      await proxy?.close();
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}
