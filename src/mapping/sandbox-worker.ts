// The evaluation worker: evaluates batches of JSONata jobs one after another and answers each
// batch in one message. Before each job it records which job it is on in shared memory, so the
// main thread can tell which job was running when it had to stop the worker (sandbox.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type jsonata from 'jsonata';
import { MAX_RESULT_CHARS } from './bounded.ts';
import { buildJsonata, toFailure } from './jsonata-env.ts';
import { PROGRESS_BATCH, PROGRESS_JOB, type BatchReply, type BatchRequest, type EvaluationAnswer, type EvaluationJob } from './sandbox-protocol.ts';

const progress = new Int32Array(workerData.progress as SharedArrayBuffer);
const compiled = new Map<string, jsonata.Expression>();
const COMPILED_LIMIT = 500;

function expressionFor(job: EvaluationJob): jsonata.Expression {
  const key = `${job.timeoutMs}\u0000${job.source}`;
  let expression = compiled.get(key);
  if (!expression) {
    if (compiled.size >= COMPILED_LIMIT) compiled.clear();
    expression = buildJsonata(job.source, job.timeoutMs);
    compiled.set(key, expression);
  }
  return expression;
}

async function evaluate(job: EvaluationJob): Promise<EvaluationAnswer> {
  const needs = new Set<string>();
  const bindings = {
    targetUsername: (sourceId: unknown): string | undefined => {
      if (typeof sourceId !== 'string' || sourceId === '') return undefined;
      const known = Object.hasOwn(job.known, sourceId) ? job.known[sourceId] : undefined;
      if (known === undefined) needs.add(sourceId);
      return typeof known === 'string' ? known : undefined;
    },
  };
  let result: unknown;
  try {
    result = await expressionFor(job).evaluate(job.input, bindings);
  } catch (e) {
    return { kind: 'failure', failure: toFailure(e) };
  }
  if (needs.size > 0) return { kind: 'needs', ids: [...needs] };
  if (result === undefined) return { kind: 'value' };
  if (typeof result === 'function') return { kind: 'value', fn: true };
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch (e) {
    return { kind: 'failure', failure: { message: `the result cannot be written: ${(e as Error).message}` } };
  }
  if (json !== undefined && json.length > MAX_RESULT_CHARS) {
    return { kind: 'failure', failure: { message: `the result has ${json.length} characters, over the limit of ${MAX_RESULT_CHARS}` } };
  }
  return { kind: 'value', json };
}

parentPort!.on('message', async (request: BatchRequest) => {
  const answers: EvaluationAnswer[] = [];
  Atomics.store(progress, PROGRESS_BATCH, request.batch);
  for (const [i, job] of request.jobs.entries()) {
    Atomics.store(progress, PROGRESS_JOB, i + 1);
    answers.push(await evaluate(job));
  }
  parentPort!.postMessage({ batch: request.batch, answers } satisfies BatchReply);
});
parentPort!.postMessage('ready');
