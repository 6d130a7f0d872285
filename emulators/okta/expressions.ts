// Okta's `search` and `filter` expressions on /api/v1/users, as documented for "List all users":
// comparisons `attr op "value"` joined by `and` / `or` with parentheses. `search` takes most
// properties (profile.*, status, dates, id, type.id) with eq, gt, ge, lt, le, sw and pr;
// `filter` only status eq, lastUpdated eq/gt/ge/lt/le, id eq and profile.login / email /
// firstName / lastName eq. Anything else is refused as Okta refuses it (400 E0000031), so a
// client that sends what Okta would refuse fails here too.

export type Value = string | number | boolean;
export type Expr =
  | { op: 'and' | 'or'; left: Expr; right: Expr }
  | { op: 'eq' | 'gt' | 'ge' | 'lt' | 'le' | 'sw'; attr: string; value: Value }
  | { op: 'pr'; attr: string };

export class ExpressionError extends Error {}

const OPS = new Set(['eq', 'gt', 'ge', 'lt', 'le', 'sw', 'pr']);

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push(c);
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        s += text[j];
        j++;
      }
      if (j >= text.length) throw new ExpressionError('unterminated string literal');
      tokens.push(`"${s}`); // a leading quote marks a string token
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s()"]/.test(text[j]!)) j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

export function parseExpression(text: string): Expr {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => {
    const t = tokens[pos++];
    if (t === undefined) throw new ExpressionError('unexpected end of expression');
    return t;
  };
  const primary = (): Expr => {
    const t = next();
    if (t === '(') {
      const e = or();
      if (next() !== ')') throw new ExpressionError('missing )');
      return e;
    }
    if (t.startsWith('"') || t === ')') throw new ExpressionError(`expected an attribute name, found ${t}`);
    if (t.toLowerCase() === 'not') throw new ExpressionError('the not operator is not supported');
    const op = next().toLowerCase();
    if (!OPS.has(op)) throw new ExpressionError(`unsupported operator ${op}`);
    if (op === 'pr') return { op: 'pr', attr: t };
    const raw = next();
    let value: Value;
    if (raw.startsWith('"')) value = raw.slice(1);
    else if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (/^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
    else throw new ExpressionError(`values must be quoted: ${raw}`);
    return { op: op as 'eq', attr: t, value };
  };
  const and = (): Expr => {
    let left = primary();
    while (peek()?.toLowerCase() === 'and') {
      pos++;
      left = { op: 'and', left, right: primary() };
    }
    return left;
  };
  const or = (): Expr => {
    let left = and();
    while (peek()?.toLowerCase() === 'or') {
      pos++;
      left = { op: 'or', left, right: and() };
    }
    return left;
  };
  if (tokens.length === 0) throw new ExpressionError('empty expression');
  const e = or();
  if (pos !== tokens.length) throw new ExpressionError(`unexpected ${tokens[pos]}`);
  return e;
}

const DATES = new Set(['created', 'activated', 'statusChanged', 'lastLogin', 'lastUpdated', 'passwordChanged']);
const FILTER_EQ = new Set(['status', 'id', 'profile.login', 'profile.email', 'profile.firstName', 'profile.lastName']);

/** Throws ExpressionError for what `filter` does not support (Okta: only a subset of properties and operators). */
export function assertFilterable(e: Expr): void {
  if ('left' in e) {
    assertFilterable(e.left);
    assertFilterable(e.right);
    return;
  }
  if (e.attr === 'lastUpdated' && e.op !== 'sw' && e.op !== 'pr') return;
  if (FILTER_EQ.has(e.attr) && e.op === 'eq') return;
  throw new ExpressionError(`filter does not support ${e.attr} ${e.op}; use the search parameter`);
}

/** Throws ExpressionError for attributes `search` does not know. */
export function assertSearchable(e: Expr, known: (attr: string) => boolean): void {
  if ('left' in e) {
    assertSearchable(e.left, known);
    assertSearchable(e.right, known);
    return;
  }
  if (!known(e.attr)) throw new ExpressionError(`unknown property ${e.attr}`);
  if (e.op === 'sw' && (DATES.has(e.attr) || e.attr === 'status')) throw new ExpressionError(`sw is not supported on ${e.attr}`);
}

function lookup(user: Record<string, unknown>, attr: string): unknown {
  let cur: unknown = user;
  for (const part of attr.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Strings compare case-insensitively, as Okta's search does; dates as instants. */
export function matches(e: Expr, user: Record<string, unknown>): boolean {
  if ('left' in e) return e.op === 'and' ? matches(e.left, user) && matches(e.right, user) : matches(e.left, user) || matches(e.right, user);
  const actual = lookup(user, e.attr);
  if (e.op === 'pr') return actual !== undefined && actual !== null && actual !== '';
  if (actual === undefined || actual === null) return false;
  const values = Array.isArray(actual) ? actual : [actual];
  const { op, value, attr } = e;
  return values.some((a) => compare(op, a, value, DATES.has(attr)));
}

function compare(op: 'eq' | 'gt' | 'ge' | 'lt' | 'le' | 'sw', actual: unknown, wanted: Value, date: boolean): boolean {
  if (op === 'sw') return String(actual).toLowerCase().startsWith(String(wanted).toLowerCase());
  let a: string | number | boolean = actual as string;
  let b: string | number | boolean = wanted;
  if (date) {
    a = Date.parse(String(actual));
    b = Date.parse(String(wanted));
    if (Number.isNaN(b)) throw new ExpressionError(`not a date: ${String(wanted)}`);
  } else if (typeof a === 'string' && typeof b === 'string') {
    a = a.toLowerCase();
    b = b.toLowerCase();
  }
  switch (op) {
    case 'eq':
      return a === b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}
