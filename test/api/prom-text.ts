// A strict reader of the Prometheus text exposition format (version 0.0.4): every line must be a
// HELP, a TYPE or a sample of a metric declared by TYPE before it, else it throws. prom-client has
// no parser of its own, so this is the check that what /metrics serves is what Prometheus reads.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The value of the one sample with exactly these labels (undefined when there is none). */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`;
// Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client writes "Nan").
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|[+-]?inf|nan))(?: -?[0-9]+)?$`, 'i');
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a newline');
  for (const [i, line] of lines.slice(0, -1).entries()) {
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) continue;
    if ((m = new RegExp(`^# TYPE (${NAME}) (\\w+)$`).exec(line))) {
      if (!TYPES.has(m[2]!)) throw new Error(`line ${i + 1}: unknown type ${m[2]}`);
      if (types.has(m[1]!)) throw new Error(`line ${i + 1}: ${m[1]} declared twice`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    if (line.startsWith('#')) throw new Error(`line ${i + 1}: not a HELP or TYPE comment: ${line}`);
    m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const name = m[1]!;
    const family = [...types.keys()].find((t) => name === t || ((types.get(t) === 'histogram' || types.get(t) === 'summary') && /^(_bucket|_sum|_count)$/.test(name.slice(t.length)) && name.startsWith(t)));
    if (!family) throw new Error(`line ${i + 1}: sample ${name} without a TYPE before it`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(new RegExp(LABEL, 'g'))) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    samples.push({ name, labels, value: numberOf(m[m.length - 1]!) });
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      const hits = samples.filter((s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} with labels ${JSON.stringify(labels)}`);
      return hits[0]?.value;
    },
  };
}

function numberOf(text: string): number {
  const t = text.toLowerCase();
  if (t === 'nan') return NaN;
  if (t === 'inf' || t === '+inf') return Infinity;
  if (t === '-inf') return -Infinity;
  return Number(text);
}
