// A slow event-stream client: its events wait in its own buffer (newer progress of a run replaces
// the older), are sent in order once the socket drains, and a client that falls too far behind
// is disconnected instead of growing memory; the publisher is never held up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { SseClient } from './routes-events.ts';
import type { RunEvent } from './progress-bus.ts';

/** A response whose socket takes `room` writes and then reports back-pressure until drained. */
class SlowResponse extends EventEmitter {
  written: string[] = [];
  destroyed = false;
  constructor(public room: number) {
    super();
  }
  write(text: string): boolean {
    this.written.push(text);
    return --this.room > 0;
  }
  end(): void {
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  drain(room: number): void {
    this.room = room;
    this.emit('drain');
  }
}

const progress = (runId: string, read: number): RunEvent => ({ type: 'run-progress', connectorId: 'c', runId, progress: { phase: 'reading', read, planned: 0, written: 0, failed: 0 } });
const finished = (runId: string): RunEvent => ({ type: 'run-finished', connectorId: 'c', runId, kind: 'full', dryRun: false, status: 'succeeded', finishedAt: '2026-12-01T00:00:00Z' });
const types = (written: string[]) => written.map((w) => /^event: (\S+)\ndata: (.*)\n\n$/.exec(w)).map((m) => (m ? `${m[1]} ${JSON.parse(m[2]!).progress?.read ?? ''}`.trim() : 'comment'));

test('while congested, a newer progress of a run replaces the older; the rest is sent in order on drain', () => {
  const res = new SlowResponse(1);
  let ended = 0;
  const client = new SseClient(res as unknown as ServerResponse, 10, () => ended++);
  client.event(progress('r1', 1)); // fills the socket
  for (let i = 2; i <= 500; i++) client.event(progress('r1', i));
  client.comment('keep-alive'); // skipped: data is waiting anyway
  client.event(finished('r1'));
  assert.deepEqual(types(res.written), ['run-progress 1'], 'nothing more written while congested');
  res.drain(100);
  assert.deepEqual(types(res.written), ['run-progress 1', 'run-progress 500', 'run-finished'], 'the latest progress, then the end');
  assert.equal(ended, 0, 'a client that catches up stays connected');
});

test('a client that falls too far behind is disconnected, once', () => {
  const res = new SlowResponse(1);
  let ended = 0;
  const client = new SseClient(res as unknown as ServerResponse, 3, () => ended++);
  client.event(finished('r0'));
  for (let i = 1; i <= 10; i++) client.event(finished(`r${i}`));
  assert.equal(res.destroyed, true, 'disconnected after its buffer overflowed');
  assert.equal(ended, 1, 'ended (and unsubscribed) exactly once');
  assert.equal(res.written.length, 1, 'nothing written after the end');
});
