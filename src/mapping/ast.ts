// Static analysis of a JSONata expression's syntax tree: which source attributes it reads
// (for $select and for validation), which functions it calls, and whether it can ever
// produce a value. Where the answer is uncertain the analysis errs towards "reads it" and
// "may produce a value", so it never makes idsync skip data a rule needs.
import type jsonata from 'jsonata';
import { MANAGER_TARGET_USERNAME } from './paths.ts';

/**
 * A node of the tree `expression.ast()` returns. JSONata's published typings miss several node
 * kinds it produces (path, bind, apply, sort, filter), so the tree is typed loosely here.
 */
export type Node = { type: string; value?: any; position?: number; [key: string]: any };

export interface AttributeReference {
  /** Dotted attribute path from the user record's root, e.g. `manager.mail`. */
  path: string;
  /** 0-based offset of the reference's first character in the source. */
  position: number;
}

export interface FunctionCall {
  name: string;
  position: number;
  args: Node[];
}

export interface ExpressionFacts {
  references: AttributeReference[];
  /** The expression looks at the whole record (`$keys($)`, `*`, `**`): its needs cannot be listed. */
  readsWholeRecord: boolean;
  calls: FunctionCall[];
  /** Variables the expression binds itself (`$x := ...`, lambda parameters). */
  boundVariables: Set<string>;
}

type Context = 'root' | 'relative';

/** Parts of a path step evaluated against that step's values rather than the path's input. */
const STEP_DECORATIONS = ['stages', 'predicate', 'group'] as const;

/** JSONata reports the offset just past a token; this turns it into the token's start. */
function startOf(node: Node): number {
  const position = typeof node.position === 'number' ? node.position : 0;
  const length = node.type === 'name' || node.type === 'variable' ? String(node.value).length + (node.type === 'variable' ? 1 : 0) : 0;
  return Math.max(0, position - length);
}

export function analyzeExpression(ast: jsonata.ExprNode | Node): ExpressionFacts {
  const facts: ExpressionFacts = { references: [], readsWholeRecord: false, calls: [], boundVariables: new Set() };

  const walkChildren = (node: Node, context: Context, skip: ReadonlySet<string> = new Set()): void => {
    for (const [key, child] of Object.entries(node)) {
      if (skip.has(key) || child === null || typeof child !== 'object') continue;
      walkAny(child, context);
    }
  };

  // Children come as nodes, arrays of nodes, or arrays of [key, value] pairs (object constructors).
  const walkAny = (value: unknown, context: Context): void => {
    if (Array.isArray(value)) {
      for (const item of value) walkAny(item, context);
    } else if (value !== null && typeof value === 'object') {
      const node = value as Node;
      if (typeof node.type === 'string') walk(node, context);
      else walkChildren(node, context); // e.g. sort terms: { descending, expression }
    }
  };

  const walkPath = (node: Node, context: Context): void => {
    const steps: Node[] = node.steps ?? [];
    let chain: string[] | null = null; // attribute names read from the root, while they last
    let chainStart = 0;
    let index = 0;
    const first = steps[0];
    if (first?.type === 'variable' && (first.value === '$' || (first.value === '' && context === 'root'))) {
      // `$$.x` always starts at the record; `$.x` does when the context is the record.
      chain = [];
      chainStart = startOf(first);
      index = 1;
      if (steps.length === 1) facts.readsWholeRecord = true;
    } else if (first?.type === 'name' && context === 'root') {
      chain = [];
      chainStart = startOf(first);
    } else if ((first?.type === 'wildcard' || first?.type === 'descendant') && context === 'root') {
      facts.readsWholeRecord = true;
    }
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (i >= index && chain && step.type === 'name') {
        chain.push(String(step.value));
        // After a filter (`emails[type="work"].value`) the names belong to the filtered
        // elements; the attribute read from the record ends here.
        if (STEP_DECORATIONS.some((key) => step[key])) {
          facts.references.push({ path: chain.join('.'), position: chainStart });
          chain = null;
        }
      } else if (i >= index) {
        if (chain && chain.length > 0) facts.references.push({ path: chain.join('.'), position: chainStart });
        chain = null;
        // The first step is evaluated in the path's own context; later steps in the previous step's.
        walk(step, i === 0 ? context : 'relative', true);
      }
      // Predicates, sort terms and object constructors on a step are relative to that step.
      for (const key of STEP_DECORATIONS) {
        if (step[key]) walkAny(step[key], 'relative');
      }
      if (typeof step.focus === 'string') facts.boundVariables.add(step.focus);
      if (typeof step.index === 'string') facts.boundVariables.add(step.index);
    }
    if (chain && chain.length > 0) facts.references.push({ path: chain.join('.'), position: chainStart });
    for (const key of STEP_DECORATIONS) {
      if (node[key]) walkAny(node[key], 'relative');
    }
  };

  const walk = (node: Node, context: Context, asStep = false): void => {
    if (asStep) {
      // Called from walkPath, which walks the step's decorations itself.
      const { stages: _s, predicate: _p, group: _g, ...bare } = node;
      if (node.type === 'name') return;
      node = bare as Node;
    }
    switch (node.type) {
      case 'path':
        walkPath(node, context);
        return;
      case 'name':
        if (context === 'root') facts.references.push({ path: String(node.value), position: startOf(node) });
        walkChildren(node, 'relative');
        return;
      case 'variable':
        if (node.value === '$' || (node.value === '' && context === 'root')) facts.readsWholeRecord = true;
        walkChildren(node, 'relative');
        return;
      case 'wildcard':
      case 'descendant':
        if (context === 'root') facts.readsWholeRecord = true;
        return;
      case 'function':
      case 'partial': {
        const procedure = node.procedure as Node | undefined;
        if (procedure?.type === 'variable') {
          facts.calls.push({ name: String(procedure.value), position: startOf(procedure), args: node.arguments ?? [] });
        } else if (procedure) {
          walk(procedure, context);
        }
        walkChildren(node, context, new Set(['procedure']));
        return;
      }
      case 'bind':
        if (node.lhs?.type === 'variable') facts.boundVariables.add(String(node.lhs.value));
        walkChildren(node, context, new Set(['lhs']));
        return;
      case 'lambda':
        for (const arg of node.arguments ?? []) facts.boundVariables.add(String(arg.value));
        // A lambda may run in any context; reading its body as the root's is the safe guess.
        walkChildren(node, context, new Set(['arguments', 'signature']));
        return;
      default:
        walkChildren(node, context);
    }
  };

  walk(ast as Node, 'root');
  return facts;
}

/** The top-level attribute of a reference path: `manager.mail` → `manager`. */
export function topLevelOf(path: string): string {
  const dot = path.indexOf('.');
  return dot === -1 ? path : path.slice(0, dot);
}

export function usesManagerTargetUsername(facts: ExpressionFacts): boolean {
  return facts.references.some((r) => r.path === MANAGER_TARGET_USERNAME || r.path.startsWith(`${MANAGER_TARGET_USERNAME}.`));
}

// Functions whose result is empty when their first argument is empty (string helpers).
const PASS_EMPTY_THROUGH = new Set([
  'lower',
  'upper',
  'stripDomain',
  'guestToMail',
  'regexReplace',
  'lowercase',
  'uppercase',
  'trim',
  'string',
  'substring',
  'substringBefore',
  'substringAfter',
  'replace',
  'number',
  'targetUsername',
]);

/**
 * Whether an expression is certain to produce nothing (undefined, null, "", []) when every
 * attribute path for which `isMissing` is true is absent. Answers false when unsure.
 * Used for "this rule can never produce a value": constants such as `null`, or expressions
 * that only read attributes the source does not have.
 */
export function neverProducesValue(ast: jsonata.ExprNode | Node, isMissing: (path: string) => boolean): boolean {
  const never = (node: Node | undefined): boolean => {
    if (!node) return true;
    switch (node.type) {
      case 'string':
        return String(node.value).trim() === '';
      case 'value':
        return node.value === null;
      case 'path': {
        // Every later step depends on the leading attribute names: when those are missing,
        // so is the whole path.
        const head: string[] = [];
        for (const step of (node.steps ?? []) as Node[]) {
          if (step.type !== 'name') break;
          head.push(String(step.value));
          if (step.stages || step.predicate || step.group) break;
        }
        return head.length > 0 && isMissing(head.join('.'));
      }
      case 'unary':
        if (node.value === '[') return (node.expressions ?? []).every((e: Node) => never(e));
        return false;
      case 'binary':
        // String concatenation of nothing and nothing is "", which is empty.
        return node.value === '&' && never(node.lhs as Node) && never(node.rhs);
      case 'condition':
        return never(node.then) && never(node.else);
      case 'block': {
        const expressions: Node[] = node.expressions ?? [];
        return expressions.length === 0 || never(expressions[expressions.length - 1]);
      }
      case 'function': {
        const name = node.procedure?.type === 'variable' ? String(node.procedure.value) : undefined;
        const args: Node[] = node.arguments ?? [];
        if (name === 'firstNonEmpty') return args.every((a) => never(a));
        if (name === 'joinNonEmpty') return args.length === 0 || never(args[0]);
        if (name && PASS_EMPTY_THROUGH.has(name)) return args.length === 0 || never(args[0]);
        return false;
      }
      default:
        return false;
    }
  };
  return never(ast as Node);
}

/**
 * Functions the expression defines (`$f := function(...) { ... }`) whose body calls the function
 * itself on every path: such a function never returns, so the rule can only time out. Answers
 * with what it can be sure of; recursion with a base case (`$n > 0 ? $f($n - 1) : 0`) passes.
 */
export function endlessFunctions(ast: jsonata.ExprNode | Node): Array<{ name: string; position: number }> {
  const found: Array<{ name: string; position: number }> = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    const node = value as Node;
    if (node.type === 'bind' && node.lhs?.type === 'variable' && node.rhs?.type === 'lambda' && alwaysCalls(node.rhs.body, String(node.lhs.value))) {
      found.push({ name: String(node.lhs.value), position: startOf(node.lhs as Node) });
    }
    Object.values(node).forEach(visit);
  };
  visit(ast);
  return found;
}

/** Whether evaluating `node` certainly calls `$name` (false when unsure). */
function alwaysCalls(node: Node | undefined, name: string): boolean {
  if (!node || typeof node !== 'object') return false;
  const any = (nodes: unknown): boolean => Array.isArray(nodes) && nodes.some((n) => alwaysCalls(n as Node, name));
  switch (node.type) {
    case 'function':
      return (node.procedure?.type === 'variable' && node.procedure.value === name) || any(node.arguments);
    case 'lambda':
      // A tail call is wrapped in a thunk that runs at once; any other function only when called.
      return node.thunk === true && alwaysCalls(node.body, name);
    case 'condition':
      return alwaysCalls(node.condition, name) || (alwaysCalls(node.then, name) && alwaysCalls(node.else, name));
    case 'block':
      return any(node.expressions);
    case 'binary':
      // `and` / `or` may skip their right side.
      return alwaysCalls(node.lhs, name) || (node.value !== 'and' && node.value !== 'or' && alwaysCalls(node.rhs, name));
    case 'unary':
      return node.value === '-' ? alwaysCalls(node.expression, name) : node.value === '[' && any(node.expressions);
    case 'path':
      // Later steps run once per value of the step before, possibly never.
      return alwaysCalls((node.steps ?? [])[0], name);
    case 'bind':
      return alwaysCalls(node.rhs, name);
    default:
      return false;
  }
}
