// JSON request bodies: nested no deeper than MAX_JSON_DEPTH, checked by one linear scan before
// parsing, so deep nesting is a 400 with a message instead of a stack overflow (a 500) in the
// validation and secret handling that walk the body recursively. Parsing itself stays Fastify's
// (secure-json-parse: a "__proto__" key is refused).
import type { FastifyInstance } from 'fastify';
import { HttpError } from './routes.ts';

/** Far more than any connector needs (a mapping rule sits at depth 5). */
export const MAX_JSON_DEPTH = 64;

/** Whether `text` opens more than `max` arrays/objects inside each other (strings skipped). */
export function jsonNestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export function useDepthLimitedJson(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonNestedDeeperThan(body as string, maxDepth)) {
      done(new HttpError(400, `the JSON body is nested deeper than ${maxDepth} levels; no idsync request needs that many, so check what sends it`), undefined);
      return;
    }
    parse(req, body as string, done);
  });
}
