// Can the emulators hold N users? `node --import tsx --max-old-space-size=8192 bench/capacity.ts --users 1000000`
// Generates the Entra tenant as the benchmark's emulator process does, fills the Jira emulator's
// store with one user per member, holding the groups and the nine properties the demo mapping
// writes (what an initial sync leaves), and prints time and memory after each step, then one
// Graph page and one Jira user through HTTP so both still answer.
import { request, Agent } from 'undici';
import { startSuite } from '../emulators/launch.ts';

const i = process.argv.indexOf('--users');
const users = Number(i >= 0 ? process.argv[i + 1] : 1_000_000);
const mem = () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return `RSS ${(m.rss / 2 ** 20).toFixed(0)} MB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MB`;
};
let t = performance.now();
const lap = () => {
  const s = ((performance.now() - t) / 1000).toFixed(1);
  t = performance.now();
  return s;
};
const suite = await startSuite({ users });
console.log(`tenant of ${suite.info.users} users generated and served in ${lap()} s: ${mem()}`);
let n = 0;
for (const u of suite.graph.directory.org.users) {
  if (!u.mail) continue;
  suite.jira.store.createUser({
    name: u.userPrincipalName.slice(0, u.userPrincipalName.indexOf('@')).toLowerCase(),
    displayName: u.displayName,
    emailAddress: u.mail,
    groups: [],
    properties: { department: u.department, jobTitle: u.jobTitle, mobilePhone: u.mobilePhone, officeLocation: u.officeLocation, employeeId: u.employeeId, costCenter: 'CC-1234', managerEmail: 'someone.else@example.com', managerUsername: 'someone.else' },
  });
  n++;
}
console.log(`Jira emulator filled with ${n} users and 8 properties each in ${lap()} s: ${mem()}`);
const agent = new Agent({ connect: { ca: suite.info.graph.ca } });
const tok = await request(`${suite.info.graph.url}/${suite.info.graph.tenantId}/oauth2/v2.0/token`, {
  method: 'POST',
  dispatcher: agent,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', client_id: suite.info.graph.clientId, client_secret: suite.info.graph.clientSecret, scope: 'https://graph.microsoft.com/.default' }).toString(),
});
const { access_token } = (await tok.body.json()) as { access_token: string };
const page = await request(`${suite.info.graph.url}/v1.0/users?$top=999&$expand=manager($select=id)`, { dispatcher: agent, headers: { authorization: `Bearer ${access_token}` } });
const last = await request(`${suite.info.jira.url}/rest/api/2/user/search?username=a&maxResults=1`, { headers: { authorization: `Bearer ${suite.info.jira.pat}` } });
console.log(`Graph page: ${page.statusCode} (${((await page.body.text()).length / 1024).toFixed(0)} KB); Jira search: ${last.statusCode}; ${lap()} s`);
// The largest group paged through, as a full sync reads memberships: each page must cost the
// same, whatever the group's size (its member list was once rebuilt for every page).
const largest = [...suite.graph.directory.org.groups].sort((a, b) => b.members.length - a.members.length)[0]!;
let next: string | undefined = `${suite.info.graph.url}/v1.0/groups/${largest.id}/members/microsoft.graph.user?$top=999&$select=id&$count=true`;
let pages = 0;
let members = 0;
while (next) {
  // The cast to users is an advanced query: Graph wants ConsistencyLevel: eventual for it.
  const r = await request(next, { dispatcher: agent, headers: { authorization: `Bearer ${access_token}`, consistencylevel: 'eventual' } });
  const body = (await r.body.json()) as { value: unknown[]; '@odata.nextLink'?: string };
  if (r.statusCode !== 200) throw new Error(`group members page: ${r.statusCode} ${JSON.stringify(body)}`);
  members += body.value.length;
  next = body['@odata.nextLink'];
  pages++;
}
console.log(`largest group (${largest.members.length} members): ${members} read in ${pages} pages of 999 in ${lap()} s`);
await suite.close();
process.exit(0);
