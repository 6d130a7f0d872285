// How two group names are told apart in the targets: without regard to case. Jira and
// Confluence treat "Developers" and "developers" as one group (Confluence even stores them in
// lower case), so the planner, the group-removal guard, its approval and the per-group run
// counts all compare (and count) groups by this key.
export const groupKey = (name: string): string => name.toLowerCase();
