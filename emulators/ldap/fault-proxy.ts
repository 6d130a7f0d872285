// A TCP proxy in front of a real slapd that reads the LDAP messages going through (BER
// framing only) so a test can count the searches a source sends and make the directory
// misbehave the way a real one does: drop the connection, answer "unavailable", end a paged
// search early, cut a page half-way. Plain LDAP only (TLS tests talk to slapd directly).
import net from 'node:net';

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

/** One BER TLV at `off`, or undefined when the buffer does not hold all of it yet. */
function readTlv(buf: Buffer, off: number): Tlv | undefined {
  if (off + 2 > buf.length) return undefined;
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (start + n > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  if (start + len > buf.length) return undefined;
  return { tag, start, end: start + len };
}

function children(buf: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let off = t.start; off < t.end; ) {
    const c = readTlv(buf, off);
    if (!c) break;
    out.push(c);
    off = c.end;
  }
  return out;
}

function int(buf: Buffer, t: Tlv): number {
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + buf[i]!;
  return v;
}

function encLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encLen(content.length), content]);
}
function encInt(tag: number, n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0 || bytes.length === 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

const PAGED_OID = '1.2.840.113556.1.4.319';

/** What the proxy understood of one search request. */
export interface SeenSearch {
  messageId: number;
  base: string;
  attributes: string[];
  /** The paged results cookie, empty on a search's first page; undefined without the control. */
  cookie?: Buffer;
  filter: string;
}

function parseSearch(buf: Buffer, msg: Tlv): SeenSearch | undefined {
  const parts = children(buf, msg);
  const [id, op, controls] = parts;
  if (!id || !op || op.tag !== 0x63) return undefined;
  const fields = children(buf, op);
  const base = buf.subarray(fields[0]!.start, fields[0]!.end).toString('utf8');
  const filter = buf.subarray(fields[6]!.start, fields[6]!.end).toString('latin1');
  const attributes = children(buf, fields[7]!).map((a) => buf.subarray(a.start, a.end).toString('utf8'));
  let cookie: Buffer | undefined;
  if (controls && controls.tag === 0xa0) {
    for (const c of children(buf, controls)) {
      const [type, ...rest] = children(buf, c);
      if (buf.subarray(type!.start, type!.end).toString() !== PAGED_OID) continue;
      const value = rest.find((r) => r.tag === 0x04);
      if (!value) continue;
      const seq = readTlv(buf, value.start);
      const inner = seq ? children(buf, seq) : [];
      cookie = inner[1] ? Buffer.from(buf.subarray(inner[1].start, inner[1].end)) : Buffer.alloc(0);
    }
  }
  return { messageId: int(buf, id), base, attributes, cookie, filter };
}

/** A SearchResultDone for `messageId`: an error code, or success with an empty paged cookie (the end of a paged search). */
function searchDone(messageId: number, resultCode: number, message: string, endOfPaging: boolean): Buffer {
  const done = tlv(0x65, Buffer.concat([encInt(0x0a, resultCode), tlv(0x04, Buffer.alloc(0)), tlv(0x04, Buffer.from(message))]));
  const parts = [encInt(0x02, messageId), done];
  if (endOfPaging) {
    const value = tlv(0x30, Buffer.concat([encInt(0x02, 0), tlv(0x04, Buffer.alloc(0))]));
    parts.push(tlv(0xa0, tlv(0x30, Buffer.concat([tlv(0x04, Buffer.from(PAGED_OID)), tlv(0x04, value)]))));
  }
  return tlv(0x30, Buffer.concat(parts));
}

export type LdapFaultKind = 'unavailable' | 'drop' | 'end-of-paging' | 'cut-page';
export interface LdapFault {
  kind: LdapFaultKind;
  /** Which searches: the first page of a paged search, the pages after it, or any search. */
  where: 'first-page' | 'later-pages' | 'all';
  /** Only searches whose base ends with this (e.g. the people OU); any when absent. */
  baseEndsWith?: string;
  /** How many matching searches get it (Infinity: always). */
  times: number;
  /** Matching searches let through first. */
  skip?: number;
}

export interface FaultProxy {
  port: number;
  url: string;
  searches: SeenSearch[];
  injected: number;
  faults: LdapFault[];
  /** Closes every open connection through the proxy (as a server restart would). */
  dropAll(): void;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port, forwarding to `target`. */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: FaultProxy = {
    port: 0,
    url: '',
    searches: [],
    injected: 0,
    faults: [],
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      proxy.dropAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const matching = (s: SeenSearch): LdapFault | undefined => {
    for (const f of proxy.faults) {
      if (f.times <= 0) continue;
      if (f.baseEndsWith && !s.base.toLowerCase().endsWith(f.baseEndsWith.toLowerCase())) continue;
      const first = !s.cookie || s.cookie.length === 0;
      if (f.where === 'first-page' && !first) continue;
      if (f.where === 'later-pages' && first) continue;
      if (f.skip && f.skip > 0) {
        f.skip--;
        continue;
      }
      f.times--;
      return f;
    }
    return undefined;
  };

  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    /** Message ids whose answer is to be cut after its first entry. */
    const cut = new Set<number>();
    let fromClient = Buffer.alloc(0);
    let fromServer = Buffer.alloc(0);
    let tls = false;
    client.on('data', (chunk) => {
      if (tls) return void upstream.write(chunk);
      fromClient = Buffer.concat([fromClient, chunk]);
      for (;;) {
        const msg = readTlv(fromClient, 0);
        if (!msg) break;
        const bytes = fromClient.subarray(0, msg.end);
        fromClient = fromClient.subarray(msg.end);
        const search = parseSearch(bytes, { tag: msg.tag, start: msg.start, end: msg.end });
        // After a StartTLS request the rest is encrypted: pass it through untouched.
        if (bytes.includes(Buffer.from('1.3.6.1.4.1.1466.20037'))) tls = true;
        if (search) {
          proxy.searches.push(search);
          const fault = matching(search);
          if (fault) {
            proxy.injected++;
            if (fault.kind === 'drop') return close();
            if (fault.kind === 'unavailable') {
              client.write(searchDone(search.messageId, 52, 'injected: the server is unavailable', false));
              continue;
            }
            if (fault.kind === 'end-of-paging') {
              client.write(searchDone(search.messageId, 0, '', true));
              continue;
            }
            cut.add(search.messageId);
          }
        }
        upstream.write(bytes);
        if (tls && fromClient.length) {
          upstream.write(fromClient);
          fromClient = Buffer.alloc(0);
        }
      }
    });
    upstream.on('data', (chunk) => {
      if (cut.size === 0 || tls) return void client.write(chunk);
      fromServer = Buffer.concat([fromServer, chunk]);
      for (;;) {
        const msg = readTlv(fromServer, 0);
        if (!msg) break;
        const bytes = fromServer.subarray(0, msg.end);
        fromServer = fromServer.subarray(msg.end);
        const id = children(bytes, { tag: msg.tag, start: msg.start, end: msg.end })[0];
        const messageId = id ? int(bytes, id) : -1;
        if (cut.has(messageId)) {
          // Half of this message, then the connection goes: a page cut short mid-answer.
          client.write(bytes.subarray(0, Math.max(1, Math.floor(bytes.length / 2))));
          return close();
        }
        client.write(bytes);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.url = `ldap://127.0.0.1:${proxy.port}`;
  return proxy;
}
