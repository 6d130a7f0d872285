// Reads idsync's YAML: the value, and where in the text each part of it is, so a problem found
// later (by the schemas) can be reported by line and column like a syntax error is. A syntax
// error never shows the offending line, nor the fragment of it some parser messages quote: a
// configuration line may hold a secret (an inline password typed by mistake).
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { IdsyncError } from '../core/errors.ts';

export interface TextPosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface YamlText {
  value: unknown;
  /** Where the node at `path` starts, or the nearest enclosing one that exists (a missing key: its object). */
  positionOf(path: ReadonlyArray<string | number>): TextPosition | undefined;
}

export function readYaml(text: string, where: string): YamlText {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  const at = (offset: number): TextPosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const error = doc.errors[0];
  if (error) {
    const { line, column } = at(error.pos[0]);
    throw new IdsyncError('CONFIG', `${where} is not valid YAML: line ${line}, column ${column}: ${withoutSource(error.message)}`, {
      hint: 'fix the YAML at that line and column; the line itself is not shown, as it may hold a secret',
    });
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    throw new IdsyncError('CONFIG', `${where} is not valid YAML: ${withoutSource((e as Error).message)}`);
  }
  return {
    value,
    positionOf(path) {
      const node = nodeAt(doc, path);
      return node?.range ? at(node.range[0]) : undefined;
    },
  };
}

/** The parser's message without the piece of source text some messages end with (`...: "text"`). */
function withoutSource(message: string): string {
  return message.split(': ')[0]!.replace(/^(Invalid escape sequence) .*/, '$1');
}

/** The key of the entry at `path` (its line is the entry's line), or the deepest node that exists. */
function nodeAt(doc: Document, path: ReadonlyArray<string | number>): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = isMap(node) || isSeq(node) || isScalar(node) ? node : undefined;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair || !isScalar(pair.key)) break;
      if (i === path.length - 1) return pair.key;
      node = pair.value;
      found = isMap(node) || isSeq(node) || isScalar(node) ? node : pair.key;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      if (!(isMap(node) || isSeq(node) || isScalar(node))) break;
      found = node;
    } else break;
  }
  return found;
}
