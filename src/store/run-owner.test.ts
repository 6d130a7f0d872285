// Whether the process recorded with a run is still there: a killed one not yet reaped (a zombie)
// and a pid now used by a later process count as gone; another machine is left to the heartbeat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { ownerState, thisProcess } from './run-owner.ts';

const linux = thisProcess().pidSpace.startsWith('linux:');
const startTicks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

test('this process, a live process, a process that exited, and another machine', async () => {
  const me = thisProcess();
  assert.equal(ownerState(me), 'this-process');
  assert.equal(ownerState({ ...me, token: 'a-process-before-this-one' }), 'gone', 'our pid, recorded by an earlier process');
  const child = spawn('sleep', ['30']);
  await once(child, 'spawn');
  const live = { host: me.host, pid: child.pid!, token: 'child', pidSpace: me.pidSpace, startTicks: linux ? startTicks(child.pid!) : null };
  assert.equal(ownerState(live), 'alive');
  if (linux) assert.equal(ownerState({ ...live, startTicks: '1' }), 'gone', 'the pid belongs to a process started later');
  assert.equal(ownerState({ ...live, pidSpace: 'linux:another-boot:pid:[1]' }), 'unknown', 'another machine: only the heartbeat can tell');
  assert.equal(ownerState({ pid: live.pid }), 'unknown', 'nothing recorded but a pid');
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
  assert.equal(ownerState(live), 'gone');
});

test('a killed process that its parent has not reaped yet (a zombie) is gone', { skip: !linux && 'needs /proc' }, async () => {
  // The background `sleep 1` exits after its parent shell has exec'd into `sleep 30`, which never
  // reaps it. (A child that exits at once may be reaped by the shell itself before the exec, on a
  // loaded machine: then there is no zombie to look at.)
  const parent = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    let state = '';
    for (let i = 0; i < 600 && state !== 'Z'; i++) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
      if (state !== 'Z') await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(state, 'Z', 'the child became a zombie');
    const me = thisProcess();
    assert.equal(ownerState({ host: me.host, pid, token: 'zombie', pidSpace: me.pidSpace, startTicks: startTicks(pid) }), 'gone');
  } finally {
    parent.kill('SIGKILL');
  }
});
