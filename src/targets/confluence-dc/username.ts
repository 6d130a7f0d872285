// Confluence's rules for a new username (POST /rest/api/admin/user, 8.4+), checked before
// sending so the administrator reads which rule a mapped value broke, and how to fix it.

/** Returns why `name` cannot be a Confluence username, or undefined when it can. */
export function usernameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'the username is empty';
  if (name === 'anonymous') return '"anonymous" is reserved by Confluence';
  if (/\s/.test(name)) return `"${name}" contains whitespace; map a value without spaces`;
  const bad = name.match(/[\\,+<>'"]/);
  if (bad) return `"${name}" contains ${bad[0]}, which Confluence forbids in usernames (\\ , + < > ' ")`;
  if (name !== name.toLowerCase()) return `"${name}" has upper-case letters; Confluence usernames are lower-case (use $lowercase(...) in the mapping)`;
  return undefined;
}

/** Why a full name cannot be used, or undefined. */
export function fullNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'the full name is empty';
  if (/[<>]/.test(name)) return `full name "${name}" contains < or >, which Confluence forbids`;
  if (name === 'anonymous') return '"anonymous" is reserved by Confluence';
  return undefined;
}
