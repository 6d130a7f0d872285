// The Graph emulator's control API for group property changes (PATCH /_emulator/groups/{id}):
// only properties Graph lets a client update are accepted; anything else (id, members, dates,
// unknown names) is refused with 400 naming it, and the group is left as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { rawCaller } from './raw-client.ts';
import { startGraphEmulator, type GraphEmulator } from './index.ts';
import { generateOrg } from '../org/index.ts';

let emu: GraphEmulator;
let agent: Agent;
const org = generateOrg({ users: 20, seed: 5 });

before(async () => {
  emu = await startGraphEmulator({ org });
  agent = new Agent({ connect: { ca: emu.ca } });
});
after(async () => {
  await agent.close();
  await emu.close();
});

const call = rawCaller({ url: () => emu.url, agent: () => agent, token: () => '' });
const patch = (id: string, body: unknown) => call(`/_emulator/groups/${id}`, { method: 'PATCH', auth: null, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('PATCH /_emulator/groups/{id} refuses properties that are not writable, with 400 naming them', async () => {
  const g = emu.directory.org.groups[0]!;
  const before = structuredClone(g);
  for (const body of [{ id: '00000000-0000-0000-0000-000000000001' }, { members: [] }, { createdDateTime: '2020-01-01T00:00:00Z' }, { displayName: 'x', deletedDateTime: null }, { nonsense: 1 }]) {
    const r = await patch(g.id, body);
    const refused = Object.keys(body).filter((k) => k !== 'displayName');
    assert.equal(r.status, 400, `${JSON.stringify(body)} is refused`);
    assert.match(r.body.error, new RegExp(`not an updatable group property: ${refused.join(', ')}`), `the answer names ${refused.join(', ')}`);
  }
  assert.deepEqual(emu.directory.group(g.id), before, 'nothing of a refused patch was applied (not even its displayName)');
  const empty = await patch(g.id, { displayName: '  ' });
  assert.equal(empty.status, 400, 'an empty displayName is refused');
  assert.equal((await patch('00000000-0000-0000-0000-00000000dead', { displayName: 'x' })).status, 404, 'an unknown group is 404');
  const ok = await patch(g.id, { displayName: `${g.displayName}-renamed`, description: 'now renamed' });
  assert.equal(ok.status, 200, 'writable properties are accepted');
  assert.equal(emu.directory.group(g.id)?.displayName, `${before.displayName}-renamed`);
});
