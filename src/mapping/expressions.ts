// JSONata expressions in mapping rules: parsed once per mapping, evaluated once per user,
// always bounded in time and memory. Straight-line expressions (placement.ts) run on the main
// thread, where JSONata 2 checks its guardrails (elapsed time, evaluation depth, sequence
// length) on every step; everything else runs in the evaluation worker (sandbox.ts), where a
// watchdog also stops a single native call that never yields. Either way a runaway expression
// fails that user with an error instead of hanging the run or the server.
import type jsonata from 'jsonata';
import { analyzeExpression, usesManagerTargetUsername, type Node, type ExpressionFacts, type FunctionCall } from './ast.ts';
import { literalWidthProblem } from './bounded.ts';
import { planDirect, type DirectPlan } from './direct.ts';
import { buildJsonata, MAX_SEQUENCE_LENGTH, toFailure, type JsonataFailure } from './jsonata-env.ts';
import { runsOnMainThread } from './placement.ts';
import { compileReplacePattern, type TargetUsernameLookup } from './presets.ts';
import { readSegments } from './paths.ts';
import { dangerousPatternMessage, regexDangerReason } from './regex-safety.ts';
import { OUT_OF_MEMORY, sandbox, STOPPED_BY_WATCHDOG, WORKER_FAILED, WORKER_HEAP_MB } from './sandbox.ts';
import type { EvaluationAnswer, KnownUsernames } from './sandbox-protocol.ts';

// Generous on purpose: the limit is there to stop runaway expressions (endless recursion, huge
// loops), which the depth and list-size guards usually catch first; a tight wall-clock budget
// would fail healthy users whenever the machine is busy or the garbage collector pauses.
export const DEFAULT_EXPRESSION_TIMEOUT_MS = 1000;
/**
 * Users for whom one expression may time out in one run before it is no longer evaluated for
 * the others: an endless rule then costs a few seconds per run, not a second per user.
 */
export const TIMEOUTS_BEFORE_GIVING_UP = 3;
/** Rounds of `$targetUsername` look-ups one worker evaluation may ask for. */
const MAX_LOOKUP_ROUNDS = 10;

/** A problem found while parsing or checking an expression, placed at a character offset. */
export class ExpressionProblem extends Error {
  readonly position: number;
  constructor(position: number, detail: string) {
    super(`expression error at position ${position}: ${detail}`);
    this.name = 'ExpressionProblem';
    this.position = position;
  }
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
    expression = buildJsonata(source, timeoutMs);
  } catch (e) {
    const failure = e as JsonataFailure;
    return { ok: false, problem: new ExpressionProblem(tokenStart(source, failure), failureText(failure)) };
  }
  return { ok: true, expression, facts: analyzeExpression(expression.ast()) };
}

/** Functions whose argument at this index is a regular expression given as text. */
const PATTERN_ARGUMENT: Record<string, number> = { regexReplace: 1 };

/**
 * Problems that can be caught before any user is evaluated: an invalid or catastrophically
 * backtracking regular expression (a `/.../` literal anywhere, or a pattern given to
 * $regexReplace as a string literal), and a literal `$pad` width over the limit.
 */
export function literalArgumentProblems(calls: readonly FunctionCall[], ast?: Node): ExpressionProblem[] {
  const problems: ExpressionProblem[] = [];
  for (const call of calls) {
    const width = call.args[1];
    const widthProblem = width?.type === 'number' ? literalWidthProblem(call.name, width.value) : undefined;
    if (widthProblem) problems.push(new ExpressionProblem(call.position, widthProblem));
    const index = PATTERN_ARGUMENT[call.name];
    if (index === undefined) continue;
    const pattern = call.args[index];
    if (pattern?.type !== 'string') continue;
    const flags = call.args[3];
    const flagText = flags?.type === 'string' ? String(flags.value) : '';
    const position = Math.max(0, (pattern.position ?? 0) - String(pattern.value).length - 2);
    try {
      compileReplacePattern(String(pattern.value), flagText);
    } catch (e) {
      problems.push(new ExpressionProblem(position, `$${call.name}: ${(e as Error).message}`));
      continue;
    }
    const danger = regexDangerReason(String(pattern.value), flagText);
    if (danger) problems.push(new ExpressionProblem(position, dangerousPatternMessage(`$${call.name}`, String(pattern.value), danger)));
  }
  if (ast) {
    for (const regex of regexLiterals(ast)) {
      const danger = regexDangerReason(regex.source, regex.flags);
      if (danger) problems.push(new ExpressionProblem(regex.position, dangerousPatternMessage('regular expression', regex.source, danger)));
    }
  }
  return problems;
}

/** Every `/.../` literal in a syntax tree, with the offset of its opening slash. */
function regexLiterals(ast: Node): Array<{ source: string; flags: string; position: number }> {
  const found: Array<{ source: string; flags: string; position: number }> = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object' && !(value instanceof RegExp)) {
      const node = value as Node;
      if (node.type === 'regex' && node.value instanceof RegExp) {
        const { source, flags } = node.value;
        found.push({ source, flags: flags.replace('g', ''), position: Math.max(0, (node.position ?? 0) - source.length - 2 - flags.replace('g', '').length) });
      }
      Object.values(node).forEach(visit);
    }
  };
  visit(ast);
  return found;
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

/**
 * JSONata's `$targetUsername`, bound per evaluation because the answer depends on the run's link
 * store. Built only when JSONata runs here (not for direct, memoized or worker evaluations).
 */
function bindingsFor(lookups: ExpressionLookups): Record<string, unknown> {
  return {
    targetUsername: (sourceId: unknown): string | undefined => {
      if (typeof sourceId !== 'string' || sourceId === '') return undefined;
      const username = lookups.targetUsernameOf(sourceId);
      if (username === undefined) lookups.onUnresolved();
      return username ?? undefined;
    },
  };
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
  /** Whether the expression is straight-line and runs on the main thread (placement.ts). */
  private readonly onMainThread: boolean;
  /** Users for whom this expression timed out in this compilation's lifetime (one run). */
  private timeouts = 0;
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
    const [literalProblem] = literalArgumentProblems(parsed.facts.calls, parsed.expression.ast() as Node);
    if (literalProblem) throw literalProblem;
    this.source = source;
    this.expression = parsed.expression;
    this.facts = parsed.facts;
    this.timeoutMs = timeoutMs;
    this.readsManagerTargetUsername = usesManagerTargetUsername(parsed.facts);
    this.onMainThread = runsOnMainThread(parsed.expression.ast() as Node);
    this.direct = opts.allowDirect === false || !this.onMainThread ? null : planDirect(parsed.expression.ast() as Node);
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
    if (this.timeouts >= TIMEOUTS_BEFORE_GIVING_UP) {
      return Promise.reject(
        new Error(
          `expression took longer than ${this.timeoutMs} ms for ${this.timeouts} users and is not evaluated for the others in this run (an endless loop or too much work?); fix the rule and run again`,
        ),
      );
    }
    const evaluation = this.onMainThread ? this.evaluateHere(input, bindingsFor(lookups)) : this.evaluateInWorker(input, lookups);
    return evaluation.then(
      (result) => {
        if (key !== undefined) this.remember(key, result);
        return result;
      },
      (failure: JsonataFailure) => {
        if (failure.code === 'D1012' || failure.code === STOPPED_BY_WATCHDOG) this.timeouts++;
        throw new Error(this.explain(failure));
      },
    );
  }

  /** On the main thread, one at a time (see inLane); rejects with a JsonataFailure. */
  private evaluateHere(input: Record<string, unknown>, bindings: Record<string, unknown>): Promise<unknown> {
    return inLane(async () => {
      try {
        return await this.expression.evaluate(input, bindings);
      } catch (e) {
        throw toFailure(e);
      }
    });
  }

  /**
   * In the evaluation worker; rejects with a JsonataFailure. `$targetUsername` cannot call back
   * into the main thread, so the worker names the ids it needs and the job is sent again with
   * their answers; unknown ids mark the evaluation unresolved as on the main thread.
   */
  private async evaluateInWorker(input: Record<string, unknown>, lookups: ExpressionLookups): Promise<unknown> {
    const known: KnownUsernames = {};
    for (let round = 0; round < MAX_LOOKUP_ROUNDS; round++) {
      const answer: EvaluationAnswer = await sandbox.evaluate({ source: this.source, timeoutMs: this.timeoutMs, input, known });
      switch (answer.kind) {
        case 'failure':
          throw answer.failure;
        case 'value':
          if (answer.fn) return function jsonataFunction() {};
          return answer.json === undefined ? undefined : JSON.parse(answer.json);
        case 'needs':
          for (const id of answer.ids) {
            const username = lookups.targetUsernameOf(id);
            if (username === undefined) lookups.onUnresolved();
            known[id] = username === undefined ? false : username;
          }
      }
    }
    throw { message: `the expression looked up more than ${MAX_LOOKUP_ROUNDS} rounds of target usernames` } satisfies JsonataFailure;
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
      case STOPPED_BY_WATCHDOG:
        return `expression took longer than ${this.timeoutMs} ms and was stopped (an endless loop or too much work?); simplify it or raise the mapping timeout`;
      case OUT_OF_MEMORY:
        return `expression used more than ${WORKER_HEAP_MB} MB of memory and was stopped (a huge text or list?); simplify it`;
      case WORKER_FAILED:
        return `expression could not be evaluated: ${failureText(failure)}`;
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
