// Which Graph requests need the advanced query parameters (`ConsistencyLevel: eventual` and
// `$count=true`). Graph decides per property and operator: `accountEnabled eq true` works by
// default, `companyName eq 'X'` only as an advanced query (else 400 Request_UnsupportedQuery).
// The one declaration of that is DEFAULT_FILTERS below, taken from Microsoft's tables
// (docs/protocol-facts.md, "Microsoft Graph"); anything it does not list as default-supported is
// sent as an advanced query, which Graph also answers for every default-supported filter.
import type { HttpRequest } from '../../core/http.ts';

export type FilterOperator = 'eq' | 'ne' | 'not' | 'gt' | 'ge' | 'lt' | 'le' | 'in' | 'startsWith' | 'endsWith' | 'eqNull';
export type DirectoryResource = 'user' | 'group';

/** One property compared by one operator somewhere in a $filter. */
export interface FilterUse {
  /** Property path as written, `/`-separated (`onPremisesExtensionAttributes/extensionAttribute3`); a lambda's collection for `any()`. */
  property: string;
  operator: FilterOperator;
}

/**
 * Operators Graph supports on a property *without* advanced query parameters. Sources:
 * microsoft-graph-docs-contrib includes/filter-directory-objects.md (group and user tables) and
 * concepts/aad-advanced-queries.md. Where versions of the table disagree, the property counts as
 * advanced (an advanced query is always accepted, a default one may not be). Rules applied on
 * top: `ne`, `not` and `endsWith` are advanced on every property; `in` is default wherever `eq`
 * is; `gt`/`lt` follow `ge`/`le`; `eq null` is advanced unless listed as `eqNull`.
 */
const DEFAULT_FILTERS: Record<DirectoryResource, Record<string, readonly FilterOperator[]>> = {
  user: {
    id: ['eq'],
    accountEnabled: ['eq'],
    ageGroup: ['eq'],
    assignedLicenses: ['eq'],
    businessPhones: ['eq'],
    city: ['eq', 'startsWith'],
    consentProvidedForMinor: ['eq'],
    country: ['eq', 'startsWith'],
    creationType: ['eq'],
    department: ['eq', 'startsWith'],
    displayName: ['eq', 'startsWith'],
    employeeId: ['eq'],
    externalUserState: ['eq'],
    externalUserStateChangeDateTime: ['eq', 'ge', 'le'],
    givenName: ['eq', 'startsWith'],
    identities: ['eq', 'eqNull'],
    imAddresses: ['eq', 'startsWith'],
    isResourceAccount: ['eq'],
    jobTitle: ['eq', 'startsWith'],
    mail: ['eq', 'startsWith'],
    mailNickname: ['eq', 'startsWith'],
    onPremisesSyncEnabled: ['eq'],
    onPremisesUserPrincipalName: ['eq', 'startsWith'],
    otherMails: ['eq', 'startsWith'],
    proxyAddresses: ['eq', 'startsWith'],
    state: ['eq', 'startsWith'],
    surname: ['eq', 'startsWith'],
    usageLocation: ['eq', 'startsWith'],
    userPrincipalName: ['eq', 'startsWith'],
    userType: ['eq'],
  },
  group: {
    id: ['eq'],
    assignedLicenses: ['eq'],
    classification: ['eq', 'startsWith'],
    displayName: ['eq', 'startsWith'],
    hasMembersWithLicenseErrors: ['eq', 'eqNull'],
    mail: ['eq', 'startsWith'],
    mailEnabled: ['eq'],
    mailNickname: ['eq', 'startsWith'],
    membershipRule: ['eq', 'startsWith'],
    onPremisesLastSyncDateTime: ['eq', 'ge', 'le'],
    onPremisesProvisioningErrors: ['eq'],
    onPremisesSyncEnabled: ['eq'],
    renewedDateTime: ['eq', 'ge', 'le'],
    securityEnabled: ['eq'],
  },
};

const ALWAYS_ADVANCED: ReadonlySet<FilterOperator> = new Set(['ne', 'not', 'endsWith']);

/** Whether Graph answers this one use without advanced query parameters. */
export function supportedByDefault(resource: DirectoryResource, use: FilterUse): boolean {
  if (ALWAYS_ADVANCED.has(use.operator)) return false;
  const ops = lookup(DEFAULT_FILTERS[resource], use.property);
  if (!ops) return false;
  const op = use.operator === 'in' ? 'eq' : use.operator === 'gt' ? 'ge' : use.operator === 'lt' ? 'le' : use.operator;
  return ops.includes(op);
}

/** Property names compare case-insensitively in Graph; a path counts by its first segment (`onPremisesExtensionAttributes/…`) only when the table lists the whole path. */
function lookup(table: Record<string, readonly FilterOperator[]>, property: string): readonly FilterOperator[] | undefined {
  const wanted = property.toLowerCase();
  for (const [name, ops] of Object.entries(table)) if (name.toLowerCase() === wanted) return ops;
  return undefined;
}

/** The uses of a $filter that need advanced query parameters (empty: a default query). */
export function advancedUses(resource: DirectoryResource, filter: string | undefined): FilterUse[] {
  if (!filter || !filter.trim()) return [];
  return filterUses(filter).filter((u) => !supportedByDefault(resource, u));
}

export function needsAdvancedQuery(resource: DirectoryResource, filter: string | undefined): boolean {
  return advancedUses(resource, filter).length > 0;
}

/** What an advanced query adds to a request: the header and `$count=true`. */
export const ADVANCED_HEADERS: Readonly<Record<string, string>> = { consistencylevel: 'eventual' };
export const ADVANCED_PARAMS: Readonly<Record<string, string>> = { $count: 'true' };

/** The query and headers of a request, with the advanced query parameters when `advanced`. */
export function withAdvanced(advanced: boolean, query: Record<string, string>, headers: Record<string, string> = {}): { query: NonNullable<HttpRequest['query']>; headers: Record<string, string> } {
  return advanced ? { query: { ...query, ...ADVANCED_PARAMS }, headers: { ...headers, ...ADVANCED_HEADERS } } : { query, headers };
}

/**
 * A membership list read through an OData cast (`/users/{id}/transitiveMemberOf/microsoft.graph.group`,
 * `/groups/{id}/members/microsoft.graph.user`) with query options: Graph lists "OData cast with
 * another query parameter" as advanced-only, so it is always sent with the advanced query
 * parameters. The headers go with every page (nextLinks keep `$count=true` but not the header).
 */
export function castListing(path: string, query: Record<string, string>): { url: string; headers: Record<string, string> } {
  const options = Object.entries({ ...query, ...ADVANCED_PARAMS }).map(([k, v]) => `${k}=${v}`);
  return { url: `${path}?${options.join('&')}`, headers: { ...ADVANCED_HEADERS } };
}

// ------------------------------------------------------------------ reading a $filter

type Token = { kind: 'string' | 'word' | 'number' | 'punct'; text: string };

/** Splits a $filter into tokens; string literals ('' escapes a quote) become one token, so their words are never read as operators. */
function tokenize(filter: string): Token[] {
  const out: Token[] = [];
  const re = /\s+|'(?:[^']|'')*'?|[(),:]|[A-Za-z_$@][A-Za-z0-9_$@./]*|-?[0-9][0-9A-Za-z.:+-]*|./gy;
  for (const m of filter.matchAll(re)) {
    const text = m[0];
    if (/^\s+$/.test(text)) continue;
    if (text.startsWith("'")) out.push({ kind: 'string', text });
    else if ('(),:'.includes(text)) out.push({ kind: 'punct', text });
    else if (/^-?[0-9]/.test(text)) out.push({ kind: 'number', text });
    else out.push({ kind: 'word', text });
  }
  return out;
}

const COMPARISONS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'in']);
const LITERAL_WORDS = new Set(['true', 'false', 'null']);

/**
 * Every property/operator pair of a $filter, found from its tokens: `path op value`,
 * `startswith(path, …)` / `endswith(path, …)`, `path in (…)`, `not …`, and lambdas
 * (`proxyAddresses/any(x:x eq 'a')`, `identities/any(i:i/issuer eq 'b')`) counted against the
 * collection. Enough to decide the query mode; Graph itself validates the syntax.
 */
export function filterUses(filter: string): FilterUse[] {
  const tokens = tokenize(filter);
  const uses: FilterUse[] = [];
  // Lambda variables in scope (x → proxyAddresses), so `x eq 'a'` counts against the collection.
  const lambdas = new Map<string, string>();
  const propertyOf = (path: string): string => lambdas.get(path.split('/')[0]!) ?? path;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'word') continue;
    const word = t.text.toLowerCase();
    const next = tokens[i + 1];
    if (word === 'not') {
      uses.push({ property: '', operator: 'not' });
      continue;
    }
    if ((word === 'startswith' || word === 'endswith') && next?.text === '(') {
      const arg = tokens[i + 2];
      if (arg?.kind === 'word') uses.push({ property: propertyOf(arg.text), operator: word === 'startswith' ? 'startsWith' : 'endsWith' });
      i += 2;
      continue;
    }
    const lambda = /^(.*)\/(any|all)$/i.exec(t.text);
    if (lambda && next?.text === '(') {
      const variable = tokens[i + 2];
      if (variable?.kind === 'word' && tokens[i + 3]?.text === ':') lambdas.set(variable.text, propertyOf(lambda[1]!));
      i += 3;
      continue;
    }
    if (COMPARISONS.has(word) || LITERAL_WORDS.has(word) || word === 'and' || word === 'or') continue;
    // A property path: what follows says how it is compared.
    const op = next?.kind === 'word' ? next.text.toLowerCase() : undefined;
    if (op && COMPARISONS.has(op)) {
      const value = tokens[i + 2];
      const isNull = value?.kind === 'word' && value.text.toLowerCase() === 'null';
      const operator: FilterOperator = isNull && op === 'eq' ? 'eqNull' : (op as FilterOperator);
      uses.push({ property: propertyOf(t.text), operator });
      i += 1;
    }
  }
  return uses;
}
