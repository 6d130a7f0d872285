// Bounds on what one expression may build. JSONata's guardrails count evaluation steps, but a
// single built-in call can allocate without limit: `$pad("x", 500000000)` asks for half a
// billion characters in one native call and aborted the whole process. The built-ins that can
// build huge text from a small expression are replaced by versions with a cap, and a result
// larger than any target field is refused (the worker's heap limit catches the rest).

/** Characters one built-in call may produce; far above any directory value or target field. */
export const MAX_BUILT_TEXT = 100_000;
/** Characters of JSON one expression result may have (Jira's properties hold 32 KB). */
export const MAX_RESULT_CHARS = 1_000_000;

/**
 * `$pad(str, width[, char])` as JSONata defines it (width counted in Unicode code points,
 * negative pads on the left), refusing a width over MAX_BUILT_TEXT.
 */
export function boundedPad(str: unknown, width: unknown, char?: unknown): string | undefined {
  if (str === undefined) return undefined;
  const text = String(str);
  const target = Math.trunc(Number(width));
  if (Math.abs(target) > MAX_BUILT_TEXT) {
    throw new Error(`$pad: a width of ${width} is over the limit of ${MAX_BUILT_TEXT} characters; use a smaller width`);
  }
  const fill = typeof char === 'string' && char.length > 0 ? char : ' ';
  const padLength = Math.abs(target) - Array.from(text).length;
  if (!(padLength > 0)) return text;
  const fillPoints = Array.from(fill);
  const repeated = fill.repeat(Math.ceil(padLength / fillPoints.length));
  // Cut by code points, as JSONata does; plain text (one code unit per point) cuts directly.
  const padding = fillPoints.length === fill.length ? repeated.slice(0, padLength) : Array.from(repeated).slice(0, padLength).join('');
  return target > 0 ? text + padding : padding + text;
}

/** Replacements registered in every expression's environment, with JSONata's own signatures. */
export const BOUNDED_BUILTINS: Record<string, { fn: (...args: any[]) => unknown; signature: string }> = {
  pad: { fn: boundedPad, signature: '<s-ns?:s>' },
};

/** A literal `$pad` width over the cap, as a message for save-time validation; undefined when fine. */
export function literalWidthProblem(name: string, width: unknown): string | undefined {
  if (name !== 'pad' || typeof width !== 'number') return undefined;
  return Math.abs(width) > MAX_BUILT_TEXT ? `$pad: a width of ${width} is over the limit of ${MAX_BUILT_TEXT} characters; use a smaller width` : undefined;
}
