// One bound connection to the directory (ldap:// with StartTLS, or ldaps://, a private CA,
// connect and operation timeouts) and the RFC 2696 paged search every read goes through.
//
// The paging loop is idsync's own rather than ldapts' searchPaginated: that one stops at a
// page with no entries even when the server sent a cookie for more (Active Directory does this
// when a filter scans many non-matching entries), which would end a read early and silently.
// Here a page ends the search only when the server's paged-results control says so, and an
// answer without that control is an error, never the end.
import tls from 'node:tls';
import { Client, FilterParser, PagedResultsControl, SearchRequest, StatusCodeParser, type Control } from 'ldapts';
import { IdsyncError } from '../../core/errors.ts';
import type { Secret } from '../../config/secrets.ts';
import { ldapError } from './errors.ts';
import type { RawValues } from './values.ts';

export interface ConnectionOptions {
  url: string;
  startTls: boolean;
  /** PEMs to trust besides the system CAs. */
  ca: string[];
  bindDn: string;
  password: () => Secret;
  connectTimeoutMs: number;
  timeoutMs: number;
}

/** An entry as read: its DN and attribute values by the attribute type the server sent (options like ;range=… kept). */
export interface RawEntry {
  dn: string;
  attrs: Map<string, RawValues>;
}

export interface SearchSpec {
  base: string;
  scope: 'base' | 'one' | 'sub';
  filter: string;
  attributes: string[];
  /** Lower-case names of attributes whose values are bytes. */
  binary: ReadonlySet<string>;
  /** Entries per page; undefined: an unpaged search (a single base read). */
  pageSize?: number;
  sizeLimit?: number;
  controls?: Control[];
}

/** What a search is for, in error messages. */
export type SearchPurpose = string;

interface SendResult {
  status: number;
  errorMessage?: string;
  searchEntries: Array<{ name: string; attributes: Array<{ type: string; values: Array<string | Buffer>; parsedBuffers: Buffer[] }> }>;
  controls?: Control[];
}

/** The ldapts internals the paging loop uses (stable across ldapts 8.x). */
interface ClientInternals {
  _send(message: SearchRequest): Promise<SendResult>;
  _nextMessageId(): number;
}

export class LdapConnection {
  private sideConnection?: Promise<LdapConnection>;

  private constructor(
    readonly client: Client,
    readonly opts: ConnectionOptions,
    /** Counts searches (tests). */
    private readonly onSearch?: (spec: SearchSpec) => void,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * A second connection (opened on first use, closed with this one) for the lookups made while
   * a paged search is under way: OpenLDAP drops a paged search's cookie as soon as another
   * search runs on its connection ("paged results cookie is invalid").
   */
  side(): Promise<LdapConnection> {
    this.sideConnection ??= LdapConnection.open(this.opts, this.onSearch, this.signal);
    return this.sideConnection;
  }

  /** Connects, upgrades with StartTLS when configured, and binds. Throws an explained IdsyncError. */
  static async open(opts: ConnectionOptions, onSearch?: (spec: SearchSpec) => void, signal?: AbortSignal): Promise<LdapConnection> {
    signal?.throwIfAborted();
    const secure = opts.url.toLowerCase().startsWith('ldaps:');
    const host = new URL(opts.url).hostname;
    const tlsOptions: tls.ConnectionOptions = { ca: opts.ca.length ? [...tls.rootCertificates, ...opts.ca] : undefined, servername: host.match(/^[\d.]+$|:/) ? undefined : host, minVersion: 'TLSv1.2' };
    // ldapts speaks TLS from the start whenever tlsOptions is given, so only ldaps:// gets them.
    const client = new Client({ url: opts.url, timeout: opts.timeoutMs, connectTimeout: opts.connectTimeoutMs, ...(secure ? { tlsOptions } : {}) });
    const ctx = { url: opts.url, bindDn: opts.bindDn };
    try {
      if (opts.startTls && !secure) await client.startTLS(tlsOptions).catch((e) => Promise.reject(ldapError(e, { ...ctx, what: 'StartTLS' })));
      await client.bind(opts.bindDn, opts.password().reveal());
    } catch (e) {
      await client.unbind().catch(() => undefined);
      throw ldapError(e, { ...ctx, what: `binding to ${opts.url}` });
    }
    return new LdapConnection(client, opts, onSearch, signal);
  }

  async close(): Promise<void> {
    const side = this.sideConnection;
    this.sideConnection = undefined;
    await Promise.all([this.client.unbind().catch(() => undefined), side?.then((c) => c.close(), () => undefined)]);
  }

  /** One search, page by page: each yielded array is one page; the loop ends only when the server's paged control says it is done. */
  async *search(spec: SearchSpec, purpose: SearchPurpose, signal?: AbortSignal): AsyncGenerator<RawEntry[]> {
    const ctx = { url: this.opts.url, bindDn: this.opts.bindDn, baseDn: spec.base, what: purpose };
    let filter;
    try {
      filter = FilterParser.parseString(spec.filter);
    } catch (e) {
      throw new IdsyncError('CONFIG', `${purpose}: the LDAP filter ${spec.filter} is not valid (${(e as Error).message})`, { hint: 'check users.filter and groups.filter (RFC 4515, e.g. (department=Sales))' });
    }
    const paged = spec.pageSize ? new PagedResultsControl({ value: { size: spec.pageSize } }) : undefined;
    const request = new SearchRequest({
      messageId: -1,
      baseDN: spec.base,
      scope: spec.scope,
      filter,
      attributes: spec.attributes,
      returnAttributeValues: true,
      sizeLimit: spec.sizeLimit ?? 0,
      timeLimit: 0,
      controls: [...(spec.controls ?? []), ...(paged ? [paged] : [])],
    });
    const internals = this.client as unknown as ClientInternals;
    for (;;) {
      signal?.throwIfAborted();
      this.onSearch?.(spec);
      let result: SendResult;
      try {
        if (!this.client.isConnected) throw new Error('Connection closed before message response was received');
        request.messageId = internals._nextMessageId();
        result = await internals._send(request);
        // A size limit the client asked for (getUser, test) is an answer, not an error.
        if (result.status !== 0 && !(result.status === 4 && spec.sizeLimit)) throw StatusCodeParser.parse(result as never);
      } catch (e) {
        throw ldapError(e, ctx);
      }
      const entries = result.searchEntries.map((e) => toRaw(e, spec.binary));
      if (!paged || (result.status === 4 && spec.sizeLimit)) {
        yield entries;
        return;
      }
      const answer = (result.controls ?? []).find((c): c is PagedResultsControl => c instanceof PagedResultsControl);
      if (!answer) {
        // RFC 2696: the server returns the control with every page. Without it idsync cannot tell the end of the results.
        throw new IdsyncError('TRANSIENT', `${purpose}: the directory answered a paged search without the paged results control`, { hint: 'retry the run; if it persists, check that the server supports RFC 2696 paged results for this account' });
      }
      const cookie = answer.value?.cookie;
      yield entries;
      if (!cookie || cookie.length === 0) return;
      paged.value = { size: spec.pageSize!, cookie };
    }
  }

  /** Every entry of a search (small ones: a base read, the rootDSE, the schema). */
  async all(spec: SearchSpec, purpose: SearchPurpose, signal?: AbortSignal): Promise<RawEntry[]> {
    const out: RawEntry[] = [];
    for await (const page of this.search(spec, purpose, signal)) out.push(...page);
    return out;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Values as text where they are text: binary attributes (by name) stay bytes, and so does any
 * value that is not valid UTF-8 (an attribute the settings do not know as binary), so bytes are
 * never turned into replacement characters (values.ts renders them as base64).
 */
function toRaw(e: SendResult['searchEntries'][number], binary: ReadonlySet<string>): RawEntry {
  const attrs = new Map<string, RawValues>();
  for (const a of e.attributes) {
    const base = a.type.split(';')[0]!.toLowerCase();
    const buffers = a.parsedBuffers;
    if (binary.has(base) || a.type.toLowerCase().includes(';binary')) {
      attrs.set(a.type, buffers);
      continue;
    }
    attrs.set(
      a.type,
      buffers.map((b) => {
        try {
          return utf8.decode(b);
        } catch {
          return b;
        }
      }),
    );
  }
  return { dn: e.name, attrs };
}

/** Values of `name` in an entry (case-insensitive; the plain type, without options like ;range=). */
export function valuesOf(entry: RawEntry, name: string): RawValues | undefined {
  const want = name.toLowerCase();
  for (const [type, v] of entry.attrs) if (type.toLowerCase() === want || type.toLowerCase() === `${want};binary`) return v;
  return undefined;
}

/** First text value of `name`. */
export function firstText(entry: RawEntry, name: string): string | undefined {
  const first = valuesOf(entry, name)?.[0];
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : first;
}
