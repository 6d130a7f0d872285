// The slice of OData that Graph's directory endpoints accept: $filter (eq, ne, gt/ge/lt/le,
// startswith, endswith, in, not, and/or, any() on string collections), $select and
// $expand=manager(...). Parsing is strict so a malformed query gets Graph's 400, not a guess.

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; inner: FilterNode }
  | { kind: 'compare'; op: CompareOp; path: string[]; value: Literal }
  | { kind: 'in'; path: string[]; values: Literal[] }
  | { kind: 'func'; name: 'startswith' | 'endswith'; path: string[]; value: string }
  | { kind: 'any'; path: string[]; op: CompareOp | 'startswith'; value: Literal };

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type Literal = string | number | boolean | null;

export class ODataError extends Error {
  constructor(
    readonly code: 'Request_BadRequest' | 'Request_UnsupportedQuery',
    message: string,
  ) {
    super(message);
  }
}

type Token = { t: 'str'; v: string } | { t: 'id'; v: string } | { t: 'num'; v: number } | { t: 'punct'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ODataError('Request_BadRequest', 'Invalid filter clause: unterminated string literal.');
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += src[i++];
      }
      out.push({ t: 'str', v });
    } else if ('(),:'.includes(c)) {
      out.push({ t: 'punct', v: c });
      i++;
    } else if (/^\d{4}-\d{2}-\d{2}/.test(src.slice(i))) {
      // DateTimeOffset literal (unquoted in OData): compared as its ISO text, as the directory stores it.
      const m = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?/.exec(src.slice(i))!;
      out.push({ t: 'str', v: m[0] });
      i += m[0].length;
    } else if (/[-0-9]/.test(c) && /[-0-9.]/.test(src[i + 1] ?? '') || /[0-9]/.test(c)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      // GUID literals without quotes are not valid OData for string keys; treat as number only if pure.
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_@]/.test(c)) {
      const m = /^[A-Za-z_@][A-Za-z0-9_/.@]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else {
      throw new ODataError('Request_BadRequest', `Invalid filter clause: syntax error at position ${i} in '${src}'.`);
    }
  }
  return out;
}

const COMPARE_OPS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);

export function parseFilter(src: string): FilterNode {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (msg = `Invalid filter clause: syntax error in '${src}'.`): never => {
    throw new ODataError('Request_BadRequest', msg);
  };
  const expectPunct = (p: string) => {
    const t = tokens[pos++];
    if (!t || t.t !== 'punct' || t.v !== p) fail();
  };
  const isWord = (t: Token | undefined, w: string) => t?.t === 'id' && t.v.toLowerCase() === w;
  const literal = (): Literal => {
    const t = tokens[pos++];
    if (!t) return fail();
    if (t.t === 'str' || t.t === 'num') return t.v;
    if (t.t === 'id') {
      const w = t.v.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
    }
    return fail();
  };
  const path = (): string[] => {
    const t = tokens[pos++];
    if (!t || t.t !== 'id') return fail();
    return t.v.split('/');
  };

  const orExpr = (): FilterNode => {
    let left = andExpr();
    while (isWord(peek(), 'or')) {
      pos++;
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };
  const andExpr = (): FilterNode => {
    let left = unary();
    while (isWord(peek(), 'and')) {
      pos++;
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  const unary = (): FilterNode => {
    if (isWord(peek(), 'not')) {
      pos++;
      return { kind: 'not', inner: unary() };
    }
    return primary();
  };
  const primary = (): FilterNode => {
    const t = peek();
    if (!t) return fail();
    if (t.t === 'punct' && t.v === '(') {
      pos++;
      const inner = orExpr();
      expectPunct(')');
      return inner;
    }
    if (t.t === 'id' && (t.v.toLowerCase() === 'startswith' || t.v.toLowerCase() === 'endswith') && tokens[pos + 1]?.v === '(') {
      pos += 2;
      const p = path();
      expectPunct(',');
      const v = literal();
      expectPunct(')');
      if (typeof v !== 'string') fail(`Invalid filter clause: ${t.v} needs a string.`);
      return { kind: 'func', name: t.v.toLowerCase() as 'startswith' | 'endswith', path: p, value: v as string };
    }
    const p = path();
    const last = p[p.length - 1]!;
    // Lambda on a collection: proxyAddresses/any(x:x eq 'smtp:...') or any(x:startswith(x,'a')).
    if (/^any$/i.test(last) && peek()?.v === '(') {
      pos++;
      const variable = path();
      expectPunct(':');
      const coll = p.slice(0, -1);
      if (isWord(peek(), 'startswith')) {
        pos++;
        expectPunct('(');
        path();
        expectPunct(',');
        const v = literal();
        expectPunct(')');
        expectPunct(')');
        return { kind: 'any', path: coll, op: 'startswith', value: v };
      }
      const lhs = path();
      if (lhs.join('/') !== variable.join('/')) fail();
      const op = tokens[pos++];
      if (!op || op.t !== 'id' || !COMPARE_OPS.has(op.v.toLowerCase())) return fail();
      const v = literal();
      expectPunct(')');
      return { kind: 'any', path: coll, op: op.v.toLowerCase() as CompareOp, value: v };
    }
    const op = tokens[pos++];
    if (!op || op.t !== 'id') return fail();
    const w = op.v.toLowerCase();
    if (w === 'in') {
      expectPunct('(');
      const values: Literal[] = [literal()];
      while (peek()?.v === ',') {
        pos++;
        values.push(literal());
      }
      expectPunct(')');
      return { kind: 'in', path: p, values };
    }
    if (!COMPARE_OPS.has(w)) return fail(`Invalid filter clause: unknown operator '${op.v}'.`);
    return { kind: 'compare', op: w as CompareOp, path: p, value: literal() };
  };

  const node = orExpr();
  if (pos !== tokens.length) fail();
  return node;
}

/** Every property path the filter reads, to validate against the entity's properties. */
export function filterPaths(node: FilterNode, out: string[][] = []): string[][] {
  switch (node.kind) {
    case 'and':
    case 'or':
      filterPaths(node.left, out);
      filterPaths(node.right, out);
      break;
    case 'not':
      filterPaths(node.inner, out);
      break;
    default:
      out.push(node.path);
  }
  return out;
}

/** Expressions of a filter as Graph limits them: one per comparison or function, one per value of an `in`. */
export function filterExpressions(node: FilterNode): number {
  switch (node.kind) {
    case 'and':
    case 'or':
      return filterExpressions(node.left) + filterExpressions(node.right);
    case 'not':
      return filterExpressions(node.inner);
    case 'in':
      return node.values.length;
    default:
      return 1;
  }
}

function resolve(obj: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = obj;
  for (const seg of path) {
    if (v === null || v === undefined || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

function norm(v: unknown): unknown {
  return typeof v === 'string' ? v.toLowerCase() : v;
}

function compare(actual: unknown, op: CompareOp | 'startswith', expected: Literal): boolean {
  if (op === 'startswith') return typeof actual === 'string' && typeof expected === 'string' && actual.toLowerCase().startsWith(expected.toLowerCase());
  if (expected === null) {
    const isNull = actual === null || actual === undefined;
    return op === 'eq' ? isNull : op === 'ne' ? !isNull : false;
  }
  if (actual === null || actual === undefined) return op === 'ne';
  // Directory string comparisons are case-insensitive.
  const a = norm(actual) as string | number | boolean;
  const e = norm(expected) as string | number | boolean;
  switch (op) {
    case 'eq':
      return a === e;
    case 'ne':
      return a !== e;
    case 'gt':
      return a > e;
    case 'ge':
      return a >= e;
    case 'lt':
      return a < e;
    case 'le':
      return a <= e;
  }
}

export function evaluate(node: FilterNode, obj: Record<string, unknown>): boolean {
  switch (node.kind) {
    case 'and':
      return evaluate(node.left, obj) && evaluate(node.right, obj);
    case 'or':
      return evaluate(node.left, obj) || evaluate(node.right, obj);
    case 'not':
      return !evaluate(node.inner, obj);
    case 'compare':
      return compare(resolve(obj, node.path), node.op, node.value);
    case 'in': {
      const v = norm(resolve(obj, node.path));
      return node.values.some((x) => norm(x) === v);
    }
    case 'func': {
      const v = resolve(obj, node.path);
      if (typeof v !== 'string') return false;
      return node.name === 'startswith' ? v.toLowerCase().startsWith(node.value.toLowerCase()) : v.toLowerCase().endsWith(node.value.toLowerCase());
    }
    case 'any': {
      const v = resolve(obj, node.path);
      return Array.isArray(v) && v.some((x) => compare(x, node.op, node.value));
    }
  }
}

/** `$select=a,b` → ['a','b']; whitespace tolerated; empty → undefined. */
export function parseSelect(raw: string | null): string[] | undefined {
  if (raw === null) return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

export interface ExpandSpec {
  property: string;
  select?: string[];
  levels?: string;
}

/** `manager($select=id,mail;$levels=max)` → {property, select, levels}. */
export function parseExpand(raw: string | null): ExpandSpec[] {
  if (raw === null || raw.trim() === '') return [];
  const specs: ExpandSpec[] = [];
  let depth = 0;
  let start = 0;
  const parts: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '(') depth++;
    else if (raw[i] === ')') depth--;
    else if (raw[i] === ',' && depth === 0) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(raw.slice(start));
  for (const part of parts) {
    const m = /^\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*$/.exec(part);
    if (!m) throw new ODataError('Request_BadRequest', `Invalid $expand clause '${part}'.`);
    const spec: ExpandSpec = { property: m[1]! };
    for (const opt of (m[2] ?? '').split(';').map((s) => s.trim()).filter(Boolean)) {
      const [k, v = ''] = opt.split('=');
      if (k === '$select') spec.select = parseSelect(v);
      else if (k === '$levels') spec.levels = v;
      else throw new ODataError('Request_BadRequest', `Query option '${k}' is not allowed inside $expand.`);
    }
    specs.push(spec);
  }
  return specs;
}
