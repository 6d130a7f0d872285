// Google's partial responses (`fields=nextPageToken,users(id,name/fullName)`), the system
// parameter every Google API takes: only the named fields are returned. Syntax: a
// comma-separated list; `a/b` selects b inside a; `a(b,c)` selects b and c inside a (for
// arrays, inside each element). A selection Google cannot read is refused (400).
type Selection = Map<string, Selection | true>;

export class FieldsError extends Error {}

export function parseFields(text: string): Selection {
  let at = 0;
  const fail = () => new FieldsError(`Invalid field selection ${text}`);
  /** One name and what it selects inside: `a`, `a/b…` or `a(…)`. */
  const item = (into: Selection): void => {
    const m = /^[A-Za-z_$][\w$-]*/.exec(text.slice(at));
    if (!m) throw fail();
    at += m[0].length;
    let child: Selection | true = true;
    if (text[at] === '/') {
      at++;
      child = new Map();
      item(child);
    } else if (text[at] === '(') {
      at++;
      child = list();
      if (text[at] !== ')') throw fail();
      at++;
    }
    merge(into, m[0], child);
  };
  const list = (): Selection => {
    const sel: Selection = new Map();
    for (;;) {
      item(sel);
      if (text[at] !== ',') return sel;
      at++;
    }
  };
  const sel = list();
  if (at !== text.length) throw fail();
  return sel;
}

function merge(sel: Selection, key: string, child: Selection | true): void {
  const had = sel.get(key);
  if (had === true || child === true || had === undefined) sel.set(key, had === true || child === true ? true : child);
  else for (const [k, v] of child) merge(had, k, v);
}

export function applyFields(value: unknown, sel: Selection): unknown {
  if (Array.isArray(value)) return value.map((v) => applyFields(v, sel));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, child] of sel) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    out[k] = child === true ? v : applyFields(v, child);
  }
  return out;
}
