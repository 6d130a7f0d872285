// The evaluation worker, seen from the main thread. Expressions that are not straight-line
// (placement.ts) are evaluated in one worker thread with a heap limit, so an endless rule, a
// catastrophic regular expression or a huge allocation can never block or crash the event loop
// that serves the API. Jobs asked for in the same turn of the event loop go in one batch (one
// message each way). A watchdog stops the worker when one job runs past its hard limit; that
// job fails, the other jobs of the batch are evaluated again in a fresh worker.
import { Worker } from 'node:worker_threads';
import type { JsonataFailure } from './jsonata-env.ts';
import { PROGRESS_BATCH, PROGRESS_JOB, type BatchReply, type EvaluationAnswer, type EvaluationJob } from './sandbox-protocol.ts';

/** Heap the worker may use; a page of users and its expressions need a few megabytes. */
export const WORKER_HEAP_MB = 256;
/** Jobs sent in one message at most. */
const BATCH_LIMIT = 500;
/** Worker deaths in a row without finishing a job before the queued jobs are failed. */
const MAX_FRUITLESS_RESTARTS = 3;

/**
 * The wall-clock time after which a job is stopped by force. JSONata's own timeout stops a job
 * between steps at `timeoutMs`; this catches a single native call that never yields.
 */
export function hardLimitMs(timeoutMs: number): number {
  return timeoutMs + Math.max(250, timeoutMs);
}

/** Failure codes of the sandbox itself, next to JSONata's (D1012 and so on). */
export const STOPPED_BY_WATCHDOG = 'IDSYNC_WATCHDOG';
export const OUT_OF_MEMORY = 'IDSYNC_OUT_OF_MEMORY';
export const WORKER_FAILED = 'IDSYNC_WORKER_FAILED';

interface Pending {
  job: EvaluationJob;
  resolve(answer: EvaluationAnswer): void;
}

interface InFlight {
  batch: number;
  items: Pending[];
  timer: NodeJS.Timeout;
  /** The job index last seen by the watchdog (1-based, 0 = not started), and when it was first seen. */
  lastSeen: number;
  seenAt: number;
}

/** How often the watchdog looks, as a fraction of the hard limit: a stuck job is stopped within 1.25 limits. */
const WATCH_FRACTION = 4;

class ExpressionSandbox {
  private worker: Worker | undefined;
  private ready = false;
  private progress = new Int32Array(new SharedArrayBuffer(8));
  private queue: Pending[] = [];
  private inFlight: InFlight | undefined;
  private flushScheduled = false;
  private batchCounter = 0;
  private fruitlessRestarts = 0;

  evaluate(job: EvaluationJob): Promise<EvaluationAnswer> {
    return new Promise((resolve) => {
      this.queue.push({ job, resolve });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight) return;
    this.flushScheduled = true;
    // setImmediate: the jobs the engine asks for in this turn (its concurrent users) join the batch.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const worker = this.ensureWorker();
    if (!this.ready) return; // 'ready' flushes
    worker.ref();
    const items = this.queue.splice(0, BATCH_LIMIT);
    const batch = ++this.batchCounter;
    Atomics.store(this.progress, PROGRESS_JOB, 0);
    Atomics.store(this.progress, PROGRESS_BATCH, batch);
    const inFlight: InFlight = { batch, items, lastSeen: 0, seenAt: Date.now(), timer: undefined as unknown as NodeJS.Timeout };
    inFlight.timer = this.watchLater(inFlight);
    this.inFlight = inFlight;
    worker.postMessage({ batch, jobs: items.map((p) => p.job) });
  }

  private watchLater(inFlight: InFlight): NodeJS.Timeout {
    const job = inFlight.items[Math.max(0, inFlight.lastSeen - 1)]!.job;
    return setTimeout(() => this.watch(inFlight), Math.ceil(hardLimitMs(job.timeoutMs) / WATCH_FRACTION));
  }

  /** Stops the worker when the job it is on has run past its hard limit. */
  private watch(inFlight: InFlight): void {
    if (this.inFlight !== inFlight) return;
    const current = Atomics.load(this.progress, PROGRESS_BATCH) === inFlight.batch ? Atomics.load(this.progress, PROGRESS_JOB) : 0;
    const now = Date.now();
    if (current !== inFlight.lastSeen) {
      inFlight.lastSeen = current;
      inFlight.seenAt = now;
    }
    const limit = current === 0 ? undefined : hardLimitMs(inFlight.items[current - 1]!.job.timeoutMs);
    if (limit !== undefined && now - inFlight.seenAt >= limit) {
      this.abandonWorker(current, { code: STOPPED_BY_WATCHDOG, message: `stopped after ${limit} ms` });
      return;
    }
    inFlight.timer = this.watchLater(inFlight);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./sandbox-worker.mjs', import.meta.url), {
      workerData: { progress: this.progress.buffer },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 32 },
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    this.worker = worker;
    this.ready = false;
    worker.on('message', (message: BatchReply | 'ready') => {
      if (this.worker !== worker) return;
      if (message === 'ready') {
        this.ready = true;
        this.flush();
        if (!this.inFlight) worker.unref();
        return;
      }
      this.settle(message);
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (this.worker !== worker) return;
      const current = Atomics.load(this.progress, PROGRESS_JOB);
      const failure: JsonataFailure =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? { code: OUT_OF_MEMORY, message: error.message } : { code: WORKER_FAILED, message: error.message };
      this.abandonWorker(current, failure);
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.abandonWorker(Atomics.load(this.progress, PROGRESS_JOB), { code: WORKER_FAILED, message: `the evaluation worker exited with code ${code}` });
    });
    return worker;
  }

  private settle(reply: BatchReply): void {
    const inFlight = this.inFlight;
    if (!inFlight || inFlight.batch !== reply.batch) return;
    clearTimeout(inFlight.timer);
    this.inFlight = undefined;
    this.fruitlessRestarts = 0;
    inFlight.items.forEach((item, i) => item.resolve(reply.answers[i]!));
    if (this.queue.length > 0) this.flush();
    else this.worker?.unref();
  }

  /**
   * Stops the worker (it may be stuck in native code, so nobody waits for it) and starts afresh:
   * the job it was on (1-based `current`; 0 when none had started) fails with `failure`, the
   * other jobs of the batch go back to the front of the queue.
   */
  private abandonWorker(current: number, failure: JsonataFailure): void {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = false;
    if (worker) void worker.terminate().catch(() => undefined);
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    if (inFlight) {
      clearTimeout(inFlight.timer);
      const culprit = current > 0 && current <= inFlight.items.length ? current - 1 : -1;
      if (culprit >= 0) {
        this.fruitlessRestarts = 0;
        inFlight.items[culprit]!.resolve({ kind: 'failure', failure });
      } else this.fruitlessRestarts++;
      this.queue.unshift(...inFlight.items.filter((_, i) => i !== culprit));
    } else this.fruitlessRestarts++;
    if (this.fruitlessRestarts >= MAX_FRUITLESS_RESTARTS) {
      // The worker cannot start or dies before any job: fail the queued jobs instead of looping.
      this.fruitlessRestarts = 0;
      for (const item of this.queue.splice(0)) item.resolve({ kind: 'failure', failure: { code: WORKER_FAILED, message: failure.message } });
      return;
    }
    this.scheduleFlush();
  }
}

/** One sandbox per process: jobs of every run and preview share its worker. */
export const sandbox = new ExpressionSandbox();
