// JSONata expressions in mapping rules: parsed once per mapping, evaluated once per user,
// always time-bounded. JSONata 2 checks its guardrails (elapsed time, evaluation depth,
// sequence length) on every step it evaluates, so an endless loop or runaway recursion is
// stopped with an error for that user instead of hanging the run.
import jsonata from 'jsonata';
import { analyzeExpression, usesManagerTargetUsername, type Node, type ExpressionFacts, type FunctionCall } from './ast.ts';
import { planDirect, type DirectPlan } from './direct.ts';
import { compileReplacePattern, STATIC_PRESETS, type TargetUsernameLookup } from './presets.ts';
import { readSegments } from './paths.ts';

// Generous on purpose: the limit is there to stop runaway expressions (endless recursion, huge
// loops), which the depth and list-size guards usually catch first; a tight wall-clock budget
// would fail healthy users whenever the machine is busy or the garbage collector pauses.
export const DEFAULT_EXPRESSION_TIMEOUT_MS = 1000;
/** Nested evaluation steps; legitimate mapping expressions stay far below this. */
const MAX_EVALUATION_DEPTH = 2000;
/** Values in one sequence: guards against `[1..10000000]` style work done in a single step. */
const MAX_SEQUENCE_LENGTH = 100_000;

/** A problem found while parsing or checking an expression, placed at a character offset. */
export class ExpressionProblem extends Error {
  readonly position: number;
  constructor(position: number, detail: string) {
    super(`expression error at position ${position}: ${detail}`);
    this.name = 'ExpressionProblem';
    this.position = position;
  }
}

interface JsonataFailure {
  code?: string;
  position?: number;
  token?: unknown;
  message?: string;
  value?: unknown;
}

/**
 * Turns JSONata's error position (the offset just past the offending token, 1-based in
 * effect) into the 0-based offset of the token's first character, clamped to the source.
 */
function tokenStart(source: string, failure: JsonataFailure): number {
  const end = typeof failure.position === 'number' ? failure.position : 0;
  const token = typeof failure.token === 'string' && failure.token !== '(end)' ? failure.token : '';
  return Math.min(source.length, Math.max(0, end - token.length));
}

function failureText(failure: JsonataFailure): string {
  return typeof failure.message === 'string' && failure.message !== '' ? failure.message : String(failure.code ?? 'unknown error');
}

export type ParsedExpression = { ok: true; expression: jsonata.Expression; facts: ExpressionFacts } | { ok: false; problem: ExpressionProblem };

export function parseExpression(source: string, timeoutMs = DEFAULT_EXPRESSION_TIMEOUT_MS): ParsedExpression {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source, { timeout: timeoutMs, stack: MAX_EVALUATION_DEPTH, sequence: MAX_SEQUENCE_LENGTH });
  } catch (e) {
    const failure = e as JsonataFailure;
    return { ok: false, problem: new ExpressionProblem(tokenStart(source, failure), failureText(failure)) };
  }
  for (const [name, fn] of Object.entries(STATIC_PRESETS)) expression.registerFunction(name, fn);
  return { ok: true, expression, facts: analyzeExpression(expression.ast()) };
}

/**
 * Problems in literal arguments that can be caught before any user is evaluated:
 * an invalid regular expression given to $regexReplace as a string literal.
 */
export function literalArgumentProblems(calls: readonly FunctionCall[]): ExpressionProblem[] {
  const problems: ExpressionProblem[] = [];
  for (const call of calls) {
    if (call.name !== 'regexReplace') continue;
    const [, pattern, , flags] = call.args;
    if (pattern?.type !== 'string') continue;
    const flagText = flags?.type === 'string' ? String(flags.value) : '';
    try {
      compileReplacePattern(String(pattern.value), flagText);
    } catch (e) {
      const position = Math.max(0, (pattern.position ?? 0) - String(pattern.value).length - 2);
      problems.push(new ExpressionProblem(position, `$regexReplace: ${(e as Error).message}`));
    }
  }
  return problems;
}

// One expression evaluates at a time. JSONata is asynchronous, so evaluations started together
// would interleave and each one's clock would also count the others' work; queued one after
// another, each timebox measures only its own expression. Evaluation is CPU-bound on one
// thread either way, so the queue costs no throughput.
let lane: Promise<unknown> = Promise.resolve();
function inLane<T>(task: () => Promise<T>): Promise<T> {
  const run = lane.then(task);
  lane = run.catch(() => undefined);
  return run;
}

export interface ExpressionLookups {
  /** Resolves `$targetUsername(id)`; undefined means not known yet. */
  targetUsernameOf: TargetUsernameLookup;
  /** Called when a reference could not be resolved yet, so the rule becomes pending. */
  onUnresolved(): void;
}

/**
 * Functions whose result does not follow from the expression's attribute references alone:
 * clocks and randomness, link lookups, and those that evaluate text or look up keys chosen at
 * run time. An expression calling one of them is never memoized.
 */
const UNMEMOIZABLE_CALLS = new Set(['now', 'millis', 'random', 'eval', 'lookup', 'keys', 'each', 'sift', 'spread', 'targetUsername']);
/** Distinct inputs remembered per expression before the memo starts over (bounds memory). */
const MEMO_LIMIT = 10_000;
const NO_VALUE = '\u0000undefined';

export class CompiledExpression {
  readonly source: string;
  readonly facts: ExpressionFacts;
  /** Reads `manager.targetUsername`, which the caller supplies in the input. */
  readonly readsManagerTargetUsername: boolean;
  private readonly expression: jsonata.Expression;
  private readonly timeoutMs: number;
  /** Set when the expression is a simple preset call that runs without JSONata (see direct.ts). */
  private readonly direct: DirectPlan | null;
  /**
   * Results by the values of the attributes the expression reads (JSON text). Users share
   * inputs (the same groups, department, office), so a pure expression such as a group filter
   * runs once per distinct input instead of once per user: 100,000 users cost a few hundred
   * JSONata evaluations. Null when the expression is not a pure function of its references.
   */
  private readonly memo: Map<string, string> | null;
  private readonly memoPaths: string[][];

  /**
   * Throws ExpressionProblem for syntax errors and invalid literal arguments.
   * `allowDirect: false` forces JSONata even for simple preset calls (tests compare both).
   */
  constructor(source: string, timeoutMs = DEFAULT_EXPRESSION_TIMEOUT_MS, opts: { allowDirect?: boolean; memoize?: boolean } = {}) {
    const parsed = parseExpression(source, timeoutMs);
    if (!parsed.ok) throw parsed.problem;
    const [literalProblem] = literalArgumentProblems(parsed.facts.calls);
    if (literalProblem) throw literalProblem;
    this.source = source;
    this.expression = parsed.expression;
    this.facts = parsed.facts;
    this.timeoutMs = timeoutMs;
    this.readsManagerTargetUsername = usesManagerTargetUsername(parsed.facts);
    this.direct = opts.allowDirect === false ? null : planDirect(parsed.expression.ast() as Node);
    const pure =
      !parsed.facts.readsWholeRecord &&
      !this.readsManagerTargetUsername &&
      !parsed.facts.calls.some((c) => UNMEMOIZABLE_CALLS.has(c.name.replace(/^\$/, '')));
    this.memo = this.direct === null && pure && opts.memoize !== false ? new Map() : null;
    this.memoPaths = [...new Set(parsed.facts.references.map((r) => r.path))].sort().map((p) => p.split('.'));
  }

  /** Whether evaluation bypasses JSONata (for tests and diagnostics). */
  get runsDirectly(): boolean {
    return this.direct !== null;
  }

  /** Evaluates against one user's input. Rejects with an Error whose message an admin can act on. */
  evaluate(input: Record<string, unknown>, lookups: ExpressionLookups): Promise<unknown> {
    const bindings = {
      // Bound per evaluation because the answer depends on the run's link store.
      targetUsername: (sourceId: unknown): string | undefined => {
        if (typeof sourceId !== 'string' || sourceId === '') return undefined;
        const username = lookups.targetUsernameOf(sourceId);
        if (username === undefined) lookups.onUnresolved();
        return username ?? undefined;
      },
    };
    if (this.direct) {
      try {
        return Promise.resolve(this.direct(input, lookups));
      } catch (e) {
        return Promise.reject(new Error(`expression error: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
    const key = this.memo ? JSON.stringify(this.memoPaths.map((segments) => readSegments(input, segments) ?? null)) : undefined;
    if (key !== undefined) {
      const hit = this.memo!.get(key);
      if (hit !== undefined) return Promise.resolve(hit === NO_VALUE ? undefined : JSON.parse(hit));
    }
    return inLane(async () => {
      let result: unknown;
      try {
        result = await this.expression.evaluate(input, bindings);
      } catch (e) {
        throw new Error(this.explain(e as JsonataFailure));
      }
      if (key !== undefined) this.remember(key, result);
      return result;
    });
  }

  /** Memoizes a JSON result (a JSONata function or other non-JSON value is not remembered). */
  private remember(key: string, result: unknown): void {
    let text: string | undefined;
    try {
      text = result === undefined ? NO_VALUE : JSON.stringify(result);
    } catch {
      return;
    }
    if (text === undefined || typeof result === 'function') return;
    if (this.memo!.size >= MEMO_LIMIT) this.memo!.clear();
    this.memo!.set(key, text);
  }

  /** Whether results are memoized by input (for tests and diagnostics). */
  get memoizes(): boolean {
    return this.memo !== null;
  }

  private explain(failure: JsonataFailure): string {
    switch (failure.code) {
      case 'D1012':
        return `expression took longer than ${this.timeoutMs} ms and was stopped (an endless loop or too much work?); simplify it or raise the mapping timeout`;
      case 'D1011':
        return 'expression recursed too deeply and was stopped; make the recursion end sooner or rewrite it as a tail call';
      case 'D2015':
        return `expression built a list of more than ${MAX_SEQUENCE_LENGTH} values and was stopped`;
      default:
        return typeof failure.position === 'number'
          ? `expression error at position ${tokenStart(this.source, failure)}: ${failureText(failure)}`
          : `expression error: ${failureText(failure)}`;
    }
  }
}
