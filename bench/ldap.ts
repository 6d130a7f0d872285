// The LDAP scenarios of `npm run bench` (issue 11): a real slapd (emulators/ldap/slapd.ts) seeded
// with the sample organisation at N users by slapadd into mdb before it starts, a fresh Jira DC
// emulator and data directory, then
//   ldap initial   a full read of the directory and the initial sync into Jira,
//   ldap nochange  a full sync that finds nothing to change (median of --repeat runs),
// each in a fresh worker process (bench/worker.ts) so its peak RSS is its own.
//
// The floor is the same searches the worker started (base, scope, filter, attributes, page
// size: recorded in worker.ts) replayed by a bare ldapts client, one after another on one
// connection, paging through RFC 2696 with the same page size. Beside it, a second floor adds
// the replay of the Jira requests the sync sent (bench/floor.ts) to the LDAP floor: what the
// transport alone costs for reading the directory and writing the target one after the other.
// That replay runs in this process beside the Jira emulator (which idsync's worker has to itself),
// so it is a pessimistic floor; --no-target-floor skips it (at 100,000 users it is a million requests).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { generateOrg } from '../emulators/org/index.ts';
import { startSlapd, slapdAvailable, type Slapd } from '../emulators/ldap/slapd.ts';
import { startJiraDcEmulator, EMULATOR_ADMIN } from '../emulators/jira-dc/index.ts';
import type { SuiteInfo } from '../emulators/launch.ts';
import { Store } from '../src/store/index.ts';
import { demoLdapConnector, demoSecrets } from '../src/cli/demo.ts';
import type { RecordedRequest } from '../src/core/http.ts';
import { replayFloor } from './floor.ts';

/** One search the LDAP source started (worker.ts records them). */
export interface RecordedSearch {
  base: string;
  scope: 'base' | 'one' | 'sub';
  filter: string;
  attributes: string[];
  pageSize?: number;
  sizeLimit?: number;
  /** Extra request controls (AD's show-deleted): not replayed; counted so a result says so. */
  controls: number;
}

export interface LdapScenarioResult {
  scenario: string;
  wallMs: number;
  floorMs: number;
  ratio: number;
  /** LDAP floor + the replay of the Jira requests. */
  floorWithTargetMs: number | null;
  ratioWithTarget: number | null;
  cpuMs?: number;
  peakRssMb: number;
  requests: number;
  writes: number;
  ldapSearches: number;
  ldapEntries: number;
  counts?: Record<string, number>;
  /** How long slapadd took to load the directory before slapd started. */
  seedMs?: number;
}

export interface LdapBenchDeps {
  users: number;
  repeat: number;
  /** Replay the Jira requests for the second floor (slow at 100,000 users: a million requests). */
  targetFloor: boolean;
  dir: string;
  log(s: string): void;
  runWorker(job: Record<string, unknown>, dir: string): Promise<Record<string, any>>;
  readRecords(file: string): Promise<RecordedRequest[]>;
}

/** The recorded searches replayed by a bare ldapts client: the time, and the entries it received. */
export async function ldapFloor(searches: RecordedSearch[], slapd: Pick<Slapd, 'ldapsUrl' | 'ca' | 'reader'>): Promise<{ ms: number; entries: number }> {
  const client = new Client({ url: slapd.ldapsUrl, tlsOptions: { ca: [slapd.ca], servername: 'localhost' }, timeout: 120_000 });
  let entries = 0;
  const started = performance.now();
  await client.bind(slapd.reader.dn, slapd.reader.password);
  for (const s of searches) {
    const options = { scope: s.scope, filter: s.filter, attributes: s.attributes, sizeLimit: s.sizeLimit ?? 0 };
    if (s.pageSize) {
      for await (const page of client.searchPaginated(s.base, { ...options, paged: { pageSize: s.pageSize } })) entries += page.searchEntries.length;
    } else {
      entries += (await client.search(s.base, options)).searchEntries.length;
    }
  }
  const ms = performance.now() - started;
  await client.unbind();
  return { ms, entries };
}

export async function ldapBench(d: LdapBenchDeps): Promise<LdapScenarioResult[]> {
  if (!slapdAvailable()) {
    d.log('ldap: skipped, slapd is not installed (scripts/setup.sh installs it)');
    return [];
  }
  const tOrg = performance.now();
  const org = generateOrg({ users: d.users, seed: 7 });
  d.log(`ldap: org of ${org.users.length} users, ${org.groups.length} groups generated in ${((performance.now() - tOrg) / 1000).toFixed(1)} s`);
  const tSeed = performance.now();
  const slapd = await startSlapd(org);
  const seedMs = performance.now() - tSeed;
  d.log(`ldap: slapd seeded (LDIF + slapadd into mdb) and started in ${(seedMs / 1000).toFixed(1)} s at ${slapd.ldapsUrl}`);
  const jira = await startJiraDcEmulator({});
  const dir = mkdtempSync(join(d.dir, 'ldap-'));
  try {
    // Only the Jira target is used; the Graph fields are unused by an LDAP source.
    const info: SuiteInfo = { graph: { url: '', ca: '', tenantId: '', authorityHost: '', graphUrl: '', clientId: '', clientSecret: '' }, jira: { url: jira.url, ...EMULATOR_ADMIN }, users: org.users.length };
    const ldap = { ldapsUrl: slapd.ldapsUrl, ca: slapd.ca, reader: slapd.reader, layout: slapd.layout };
    const connector = demoLdapConnector(info, slapd);
    const dataDir = join(dir, 'data');
    const store = await Store.open({ dataDir });
    await store.connectors.save(connector, { secrets: { 'target.jira.auth.token': demoSecrets(info)['target.jira.auth.token']!, 'source.bindPassword': slapd.reader.password } });
    await store.close();
    const concurrency = connector.targets[0]!.concurrency;
    const recordFile = join(dir, 'requests.ndjson');
    const ldapRecordFile = join(dir, 'ldap-searches.json');
    const one = async (scenario: string): Promise<LdapScenarioResult> => {
      const w = await d.runWorker({ info, dataDir, scenario: 'full', recordFile, ldap, ldapRecordFile }, dir);
      if (w.status === 'failed') throw new Error(`${scenario}: run failed: ${w.error}`);
      const reqs = await d.readRecords(recordFile);
      const searches = JSON.parse(readFileSync(ldapRecordFile, 'utf8')) as RecordedSearch[];
      const floor = await ldapFloor(searches, slapd);
      const targetMs = d.targetFloor ? await replayFloor(reqs, { concurrency, isChained: () => false }) : NaN;
      const r: LdapScenarioResult = {
        scenario,
        wallMs: w.wallMs,
        floorMs: floor.ms,
        ratio: w.wallMs / floor.ms,
        floorWithTargetMs: d.targetFloor ? floor.ms + targetMs : null,
        ratioWithTarget: d.targetFloor ? w.wallMs / (floor.ms + targetMs) : null,
        cpuMs: w.cpuMs,
        peakRssMb: w.peakRssMb,
        requests: reqs.length,
        writes: reqs.filter((q) => q.method !== 'GET').length,
        ldapSearches: searches.length,
        ldapEntries: floor.entries,
        counts: w.counts,
      };
      const unreplayed = searches.filter((s) => s.controls > 0).length;
      d.log(`${scenario.padEnd(13)} ${(r.wallMs / 1000).toFixed(2)} s (LDAP floor ${(r.floorMs / 1000).toFixed(2)} s, ×${r.ratio.toFixed(2)}; ${r.floorWithTargetMs === null ? 'Jira floor not measured' : `LDAP + Jira floor ${(r.floorWithTargetMs / 1000).toFixed(2)} s, ×${r.ratioWithTarget!.toFixed(2)}`}), idsync CPU ${((w.cpuMs ?? 0) / 1000).toFixed(2)} s, peak RSS ${r.peakRssMb.toFixed(0)} MB, ${searches.length} LDAP searches (${floor.entries} entries${unreplayed ? `, ${unreplayed} with extra controls` : ''}), ${r.requests} Jira requests, ${r.writes} writes · ${JSON.stringify(w.counts)}`);
      return r;
    };
    const results = [{ ...(await one('ldap initial')), seedMs }];
    const runs: LdapScenarioResult[] = [];
    for (let i = 0; i < d.repeat; i++) runs.push(await one('ldap nochange'));
    const median = [...runs].sort((a, b) => a.ratio - b.ratio)[Math.floor(runs.length / 2)]!;
    results.push({ ...median, seedMs, scenario: d.repeat > 1 ? `ldap nochange (median of ${d.repeat})` : 'ldap nochange' });
    return results;
  } finally {
    await slapd.stop();
    await jira.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
