// Where an expression is evaluated. Most mapping expressions are straight-line: paths, filters,
// string functions and presets over one user's attributes, whose cost is bounded by the size of
// the record; they run on the main thread, where a call costs microseconds. Anything that can
// loop (functions, recursion, ranges, higher-order calls), evaluate text as code, or run a
// regular expression that is not trivially linear runs in the evaluation worker (sandbox.ts),
// where a hard time and memory limit can stop it without stopping the server.
import type { Node } from './ast.ts';
import { isTriviallySafePattern } from './regex-safety.ts';

/** Built-ins and presets whose cost is bounded by the size of their arguments. */
const BOUNDED_CALLS = new Set(
  (
    'lower upper stripDomain guestToMail firstNonEmpty joinNonEmpty targetUsername ' +
    'string substring substringBefore substringAfter lowercase uppercase length trim contains split join replace match ' +
    'count exists boolean not number abs floor ceil round sum max min average distinct reverse append type merge keys lookup ' +
    'base64encode base64decode encodeUrlComponent encodeUrl decodeUrlComponent decodeUrl toMillis fromMillis now millis random'
  ).split(' '),
);

/** Node kinds that evaluate each of their children a bounded number of times. */
const STRAIGHT_LINE = new Set(['path', 'name', 'string', 'number', 'value', 'binary', 'unary', 'condition', 'block', 'apply', 'wildcard', 'descendant', 'sort', 'filter', 'parent']);

/** A string literal argument (the pattern of $regexReplace), or undefined. */
function literalText(node: Node | undefined): string | undefined {
  return node?.type === 'string' ? String(node.value) : undefined;
}

/** Whether the expression is straight-line and bounded, so it may run on the main thread. */
export function runsOnMainThread(ast: Node): boolean {
  const bounded = (value: unknown): boolean => {
    if (Array.isArray(value)) return value.every(bounded);
    if (value === null || typeof value !== 'object') return true;
    const node = value as Node;
    if (typeof node.type !== 'string') return Object.values(node).every(bounded); // sort terms, object pairs
    switch (node.type) {
      case 'regex':
        return isTriviallySafePattern(String(node.value?.source ?? ''));
      case 'variable':
        // The context ($, $$) or a reference to a bounded built-in; bound variables do not exist
        // here because binding is not straight-line.
        return node.value === '' || node.value === '$' || BOUNDED_CALLS.has(String(node.value));
      case 'function': {
        const procedure = node.procedure as Node | undefined;
        if (procedure?.type !== 'variable') return false;
        const name = String(procedure.value);
        const args = (node.arguments ?? []) as Node[];
        const pattern = literalText(args[1]);
        const boundedCall = BOUNDED_CALLS.has(name) || (name === 'regexReplace' && pattern !== undefined && isTriviallySafePattern(pattern));
        return boundedCall && args.every(bounded) && bounded(decorations(node));
      }
      case 'binary':
        if (node.value === '..') return false; // a range builds a list as long as its numbers say
        return Object.values(node).every(bounded);
      default:
        return STRAIGHT_LINE.has(node.type) && Object.values(node).every(bounded);
    }
  };
  return bounded(ast);
}

function decorations(node: Node): unknown[] {
  return [node.stages, node.predicate, node.group];
}
