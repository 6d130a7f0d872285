// Every failure a directory server (or the way to it) gives, as an IdsyncError whose code the
// engine's error policy acts on and whose hint says what to change. Nothing here prints the
// bind password: only the server's own diagnostic, the URL, the DN and the base DNs.
import { IdsyncError } from '../../core/errors.ts';

interface LdapResultError extends Error {
  code?: number | string;
}

/** What the failing operation was about, for the message. */
export interface ErrorContext {
  url: string;
  bindDn?: string;
  /** The base DN of the failing search. */
  baseDn?: string;
  what?: string;
}

/** AD puts the reason of a refused bind in its diagnostic: "…, data 52e, v…". */
const AD_BIND_DATA: Record<string, string> = {
  '525': 'the account does not exist',
  '52e': 'the password is wrong',
  '530': 'the account may not sign in at this time',
  '531': 'the account may not sign in from this computer',
  '532': 'the password has expired',
  '533': 'the account is disabled',
  '701': 'the account has expired',
  '773': 'the password must be changed before the account can sign in',
  '775': 'the account is locked out',
};

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

function detail(e: LdapResultError): string {
  const m = (e.message ?? '').replace(/\s*Code:\s*0x[0-9a-f]+\s*$/i, '').trim();
  return m;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The IdsyncError for anything an ldapts call threw; an IdsyncError passes through. */
export function ldapError(e: unknown, ctx: ErrorContext): IdsyncError {
  if (e instanceof IdsyncError) return e;
  const err = (e instanceof Error ? e : new Error(String(e))) as LdapResultError;
  const what = ctx.what ? `${ctx.what}: ` : '';
  const server = `the directory at ${ctx.url}`;
  const said = detail(err);
  const quoted = said ? ` (${said})` : '';
  const make = (code: IdsyncError['code'], message: string, hint: string) => new IdsyncError(code, `${what}${message}`, { hint, cause: err });

  if (typeof err.code === 'number') {
    switch (err.code) {
      case 49: {
        const data = /data ([0-9a-f]{3})/i.exec(said)?.[1]?.toLowerCase();
        const reason = data ? AD_BIND_DATA[data] : undefined;
        return make('AUTH', `${server} refused the bind as ${ctx.bindDn ?? 'the configured bind DN'}: invalid credentials${reason ? `, ${reason}` : ''}${quoted}`, reason && data !== '52e' && data !== '525' ? 'fix the service account in the directory, or use another one' : 'check bindDn (the full DN; on Active Directory also user@domain) and the stored bind password');
      }
      case 50:
        return make('AUTH', `${server} refused access to ${ctx.baseDn ?? 'the entries'} for ${ctx.bindDn ?? 'the bind DN'} (insufficient access rights)${quoted}`, 'give the bind account read access to the user and group entries (and their attributes)');
      case 48:
        return make('AUTH', `${server} refuses this kind of bind (inappropriate authentication)${quoted}`, 'give a bind DN and password; anonymous and empty-password binds are refused');
      case 8:
      case 13:
        return make('CONFIG', `${server} requires an encrypted connection before binding${quoted}`, 'use an ldaps:// URL or set startTls: true');
      case 4:
        return make('CONFIG', `${server} stopped the search of ${ctx.baseDn ?? 'the base DN'} at its size limit${quoted}`, 'idsync pages every search; raise the limit for the bind account (OpenLDAP: limits dn.exact="<bind DN>" size.prtotal=unlimited; AD: MaxResultSetSize), or narrow users.baseDn / users.filter');
      case 11:
        return make('CONFIG', `${server} refused the search: an administrative limit was exceeded${quoted}`, 'lower pageSize (AD allows at most MaxPageSize, 1000 by default), or ask the directory administrator to raise the limit');
      case 3:
        return make('TRANSIENT', `${server} stopped the search at its time limit${quoted}`, 'retry; if it persists, narrow users.baseDn / users.filter or lower pageSize');
      case 32:
        return make('CONFIG', `the base DN ${ctx.baseDn ?? ''} does not exist in ${server} (no such object)${quoted}`.replace('DN  does', 'DN does'), 'check users.baseDn and groups.baseDn (e.g. OU=Staff,DC=corp,DC=example,DC=com)');
      case 34:
        return make('CONFIG', `${server} says a DN is not valid (invalid DN syntax)${quoted}`, 'check bindDn, users.baseDn and groups.baseDn');
      case 87:
        return make('CONFIG', `${server} refused a search filter${quoted}`, 'check users.filter and groups.filter (RFC 4515, e.g. (department=Sales))');
      case 12:
        return make('CONFIG', `${server} does not support a control idsync needs (paged results)${quoted}`, 'idsync needs RFC 2696 paged results, which Active Directory and OpenLDAP support; check the server type');
      case 17:
        return make('CONFIG', `${server} does not know an attribute the mapping or the settings use (undefined attribute type)${quoted}`, 'check the attribute names in the mapping and in idAttribute / usernameAttribute / mailAttribute / nameAttribute');
      case 51:
      case 52:
      case 80:
        return make('TRANSIENT', `${server} is busy or unavailable${quoted}`, 'retry the run; if it persists, check the directory server');
      case 53:
        return make('CONFIG', `${server} is unwilling to perform the operation${quoted}`, 'check that the bind account may search this base DN (and pageSize is not above the server maximum)');
      default:
        return make(err.code >= 80 ? 'TRANSIENT' : 'CONFIG', `${server} answered LDAP result code ${err.code}${quoted}`, 'check the connector settings against the directory');
    }
  }

  const code = typeof err.code === 'string' ? err.code : undefined;
  const msg = err.message ?? '';
  if (code && TLS_CODES.has(code)) {
    const altName = code === 'ERR_TLS_CERT_ALTNAME_INVALID';
    return make(
      'CONFIG',
      `the certificate of ${server} is not trusted: ${altName ? 'it is not issued for this host name' : msg}`,
      altName ? 'use the host name the certificate is issued for in url (not an IP address or alias)' : "give the CA that signed the directory's certificate (PEM) as the connector's ca setting",
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return make('CONFIG', `the host of ${ctx.url} is unknown (DNS: ${code})`, `check the host name in url (${hostOf(ctx.url)}) and the DNS of the idsync host`);
  }
  if (code === 'ECONNREFUSED') {
    return make('TRANSIENT', `nothing accepts connections at ${hostOf(ctx.url)} (connection refused)`, 'check the port in url (389 for ldap://, 636 for ldaps://) and that the directory service runs');
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT' || /Connection timeout/i.test(msg)) {
    return make('TRANSIENT', `${server} could not be reached in time (${code ?? 'connect timeout'})`, 'check the host and port in url, the firewall, and connectTimeoutMs');
  }
  if (/Operation timed out/i.test(msg)) {
    return make('TRANSIENT', `${server} did not answer within timeoutMs`, 'retry; if it persists, raise timeoutMs or lower pageSize');
  }
  if (/Connection closed|socket|ECONNRESET|EPIPE|TLS connection was established/i.test(msg) || code === 'ECONNRESET' || code === 'EPIPE') {
    return make('TRANSIENT', `the connection to ${server} was lost${msg ? ` (${msg.split('\n')[0]})` : ''}`, 'retry the run; if it persists, check the directory server and any load balancer or firewall in between (idle timeouts)');
  }
  if (/filter/i.test(msg)) return make('CONFIG', `a search filter is not valid: ${msg}`, 'check users.filter and groups.filter (RFC 4515, e.g. (department=Sales))');
  return make('INTERNAL', `${server}: ${msg || String(e)}`, 'report this with the run log');
}

/** Whether retrying (a new connection) may help. */
export function retryable(e: IdsyncError): boolean {
  return e.code === 'TRANSIENT';
}
