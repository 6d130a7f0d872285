// How the server is exposed in a company: behind a reverse proxy (which addresses to trust for
// X-Forwarded-For / -Proto), with TLS of its own, and how large a request body may be. One place
// reads these from `idsync serve` flags and the environment, and says what is wrong with a value.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ALLOWED_SECRET_REFS_ENV, parseAllowedSecretRefs, type SecretRefPolicy } from './secret-ref-policy.ts';

/** Fastify's trustProxy: false, true (any proxy), a number of hops, or addresses / CIDR ranges. */
export type TrustProxy = boolean | number | string[];

export const TRUST_PROXY_ENV = 'IDSYNC_TRUST_PROXY';
export const BODY_LIMIT_ENV = 'IDSYNC_BODY_LIMIT';

/** Before authentication (log-in, set-up, anything unknown) a body is small. */
export const PUBLIC_BODY_LIMIT = 64 * 1024;
/** Authenticated API calls (a connector, a configuration import). */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `true`, `false`, a hop count (`1`: trust the one proxy in front), or a comma-separated list
 * of proxy addresses / CIDR ranges (`10.0.0.0/8,127.0.0.1`, or loopback, linklocal, uniquelocal).
 */
export function parseTrustProxy(text: string | undefined): TrustProxy {
  const t = (text ?? '').trim();
  if (t === '' || t === 'false') return false;
  if (t === 'true') return true;
  if (/^\d+$/.test(t)) return Number(t);
  const list = t.split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of list) {
    const [ip, bits, extra] = entry.split('/');
    const family = isIP(ip ?? '');
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!PROXY_NAMES.includes(entry) && (!family || !bitsOk || extra !== undefined)) {
      throw new Error(`trust proxy: "${entry}" is not an IP address, a CIDR range or one of ${PROXY_NAMES.join(', ')}; give true, a hop count or the proxy's addresses`);
    }
  }
  return list;
}

export const trustsProxy = (t: TrustProxy): boolean => (Array.isArray(t) ? t.length > 0 : t !== false && t !== 0);

/** `2mb`, `512kb`, or bytes. */
export function parseByteSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb)?$/i.exec(text.trim());
  const n = m ? Math.round(Number(m[1]) * { b: 1, kb: 1024, mb: 1024 * 1024 }[(m[2] ?? 'b').toLowerCase() as 'b']) : NaN;
  if (!Number.isFinite(n) || n < 1024) throw new Error(`${what}: "${text}" is not a size of at least 1kb, e.g. 2mb or 512kb`);
  return n;
}

export interface TlsFiles {
  cert: string;
  key: string;
}

/** The PEM certificate (chain) and key; both or neither. */
export function readTls(certFile: string | undefined, keyFile: string | undefined): TlsFiles | undefined {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new Error('TLS needs both --tls-cert (the PEM certificate, with its chain) and --tls-key (its PEM private key)');
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`cannot read the TLS ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? e}; check the path and that idsync may read it`);
    }
  };
  return { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') };
}

export interface DeploymentFlags {
  trustProxy?: string;
  tlsCert?: string;
  tlsKey?: string;
  allowedSecretRefs?: string;
  bodyLimit?: string;
}

export interface Deployment {
  trustProxy: TrustProxy;
  tls?: TlsFiles;
  secretRefs: SecretRefPolicy;
  bodyLimit: number;
}

/** The flags of `idsync serve`, each falling back to its environment variable. */
export function deploymentFrom(flags: DeploymentFlags, env: NodeJS.ProcessEnv = process.env): Deployment {
  const tls = readTls(flags.tlsCert ?? env.IDSYNC_TLS_CERT, flags.tlsKey ?? env.IDSYNC_TLS_KEY);
  const bodyLimit = flags.bodyLimit ?? env[BODY_LIMIT_ENV];
  return {
    trustProxy: parseTrustProxy(flags.trustProxy ?? env[TRUST_PROXY_ENV]),
    ...(tls ? { tls } : {}),
    secretRefs: parseAllowedSecretRefs(flags.allowedSecretRefs ?? env[ALLOWED_SECRET_REFS_ENV]),
    bodyLimit: bodyLimit ? parseByteSize(bodyLimit, 'body limit') : DEFAULT_BODY_LIMIT,
  };
}
