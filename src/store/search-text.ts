// What a user-typed search becomes in SQL. Control characters are dropped: SQLite's LIKE ends
// a pattern at NUL (so "\0" matched every row) and PostgreSQL refuses NUL in text outright.
// LIKE's own wildcards are dropped too, so a search is always "contains these characters".

/** The search without control characters (what a person can have meant). */
export function searchText(text: string): string {
  return text.replace(/\p{Cc}/gu, '');
}

/** A LIKE pattern matching values that contain the search text. */
export function containsPattern(text: string): string {
  return `%${searchText(text).replace(/[%_]/g, '')}%`;
}
