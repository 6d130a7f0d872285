// A self-signed certificate for emulators that must speak TLS (the official Microsoft Graph
// client only sends its token over https). Made once per process; clients trust it through
// the emulator's `ca` (or NODE_EXTRA_CA_CERTS for libraries that take no CA option).
import { generate } from 'selfsigned';

export interface TlsMaterial {
  key: string;
  cert: string;
}

let pending: Promise<TlsMaterial> | undefined;

export function emulatorTls(): Promise<TlsMaterial> {
  pending ??= generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    days: 30,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  } as Parameters<typeof generate>[1]).then((p) => ({ key: p.private, cert: p.cert }));
  return pending;
}
