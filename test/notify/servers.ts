// Real local servers for the notification tests: an SMTP server (the smtp-server package, on a
// free loopback port, with or without log-in and STARTTLS) that keeps every message it takes,
// and an HTTP server that records the webhook posts and answers as a test scripts it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { emulatorTls } from '../../emulators/common/tls.ts';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The raw message as sent (headers and MIME body). */
  raw: string;
  subject: string;
  /** The decoded text/plain and text/html parts. */
  text: string;
  html: string;
  /** Who logged in, when anyone did. */
  user?: string;
  secure: boolean;
}

function decodeQuotedPrintable(s: string): string {
  const bytes = Buffer.from(s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  return bytes.toString('utf8');
}

/** The body of the part with this content type, decoded (7bit, quoted-printable or base64). */
function part(raw: string, type: string): string {
  const at = raw.toLowerCase().indexOf(`content-type: ${type}`);
  if (at < 0) return '';
  const rest = raw.slice(at);
  const headerEnd = rest.indexOf('\r\n\r\n');
  const headers = rest.slice(0, headerEnd).toLowerCase();
  const body = rest.slice(headerEnd + 4).split(/\r\n--/)[0]!;
  if (headers.includes('quoted-printable')) return decodeQuotedPrintable(body);
  if (headers.includes('base64')) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

function header(raw: string, name: string): string {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(name.length + 1).trim() : '';
}

export interface SmtpOptions {
  /** Require this user and password. */
  auth?: { user: string; password: string };
  /** Offer STARTTLS with a certificate of a CA the test gives the client (emulatorTls). */
  starttls?: boolean;
  /** TLS from the first byte (port 465 style) with that certificate. */
  implicitTls?: boolean;
}

export interface LocalSmtp {
  port: number;
  mails: ReceivedMail[];
  /** The CA the client must trust for STARTTLS. */
  ca?: string;
  /** Log-in attempts refused. */
  refusedLogins: number;
  close(): Promise<void>;
}

export async function startSmtp(opts: SmtpOptions = {}): Promise<LocalSmtp> {
  const tls = opts.starttls || opts.implicitTls ? await emulatorTls() : undefined;
  const mails: ReceivedMail[] = [];
  const state = { refusedLogins: 0 };
  const server = new SMTPServer({
    ...(tls ? { key: tls.key, cert: tls.cert, secure: !!opts.implicitTls } : { disabledCommands: opts.auth ? [] : ['STARTTLS', 'AUTH'] }),
    authOptional: !opts.auth,
    // Log-in only over TLS, as a real submission server has it.
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.password) return cb(null, { user: auth.username });
      state.refusedLogins++;
      return cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          subject: header(raw, 'subject'),
          text: part(raw, 'text/plain'),
          html: part(raw, 'text/html'),
          ...(typeof session.user === 'string' ? { user: session.user } : {}),
          secure: session.secure,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    ...(tls ? { ca: tls.cert } : {}),
    get refusedLogins() {
      return state.refusedLogins;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ReceivedPost {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
}

export interface LocalWebhook {
  /** Base URL (http://127.0.0.1:PORT). */
  url: string;
  posts: ReceivedPost[];
  close(): Promise<void>;
}

/** An HTTP server that records each POST and answers with `answer(post, n)` (n counts from 1). */
export async function startWebhookReceiver(answer: (post: ReceivedPost, n: number, res: ServerResponse) => void = (_p, _n, res) => void res.writeHead(200).end('ok')): Promise<LocalWebhook> {
  const posts: ReceivedPost[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text
      }
      const post = { path: req.url ?? '', headers: req.headers, body };
      posts.push(post);
      answer(post, posts.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
