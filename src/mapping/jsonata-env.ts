// How every JSONata expression is built, the same on the main thread and in the evaluation
// worker: JSONata's guardrails (time, depth, sequence length), idsync's presets, and bounded
// replacements for the built-ins that could allocate without limit (bounded.ts).
import jsonata from 'jsonata';
import { BOUNDED_BUILTINS } from './bounded.ts';
import { STATIC_PRESETS } from './presets.ts';

/** Nested evaluation steps; legitimate mapping expressions stay far below this. */
export const MAX_EVALUATION_DEPTH = 2000;
/** Values in one sequence: guards against `[1..10000000]` style work done in a single step. */
export const MAX_SEQUENCE_LENGTH = 100_000;

/** Parses an expression; throws JSONata's error object for a syntax error. */
export function buildJsonata(source: string, timeoutMs: number): jsonata.Expression {
  const expression = jsonata(source, { timeout: timeoutMs, stack: MAX_EVALUATION_DEPTH, sequence: MAX_SEQUENCE_LENGTH } as jsonata.JsonataOptions);
  for (const [name, fn] of Object.entries(STATIC_PRESETS)) expression.registerFunction(name, fn);
  for (const [name, { fn, signature }] of Object.entries(BOUNDED_BUILTINS)) expression.registerFunction(name, fn, signature);
  return expression;
}

/** The parts of a JSONata error idsync reports; plain data, so it crosses to and from the worker. */
export interface JsonataFailure {
  code?: string;
  position?: number;
  token?: unknown;
  message?: string;
  value?: unknown;
}

export function toFailure(e: unknown): JsonataFailure {
  if (e === null || typeof e !== 'object') return { message: String(e) };
  const { code, position, token, message } = e as JsonataFailure;
  return {
    code: typeof code === 'string' ? code : undefined,
    position: typeof position === 'number' ? position : undefined,
    token: typeof token === 'string' ? token : undefined,
    message: typeof message === 'string' ? message : String(e),
  };
}
