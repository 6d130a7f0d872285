// A full read's digests, loaded up front (issue 9). A read that returns everyone compares every
// page with the shadow's digests (ShadowIngest) and with each target's link digests
// (engine.digestsFor): asked per page, that is two random-lookup queries a page, a fifth of a
// no-change run's CPU at 100,000 users. Loaded instead in one sequential keyset scan per table,
// started when the run becomes exhaustive and not awaited, the reading overlaps the first page's
// wait (the Entra source reads every group's members before it yields a user), and each page is
// then answered from memory.
//
// Held compactly, outside the V8 heap where it can be: ids to a number (GuidMap), per table a
// flag byte, the fingerprint as its 20 SHA-1 bytes (base64url in the store), row numbers in a
// Float64Array, usernames as UTF-8 in one buffer. About 90 bytes a user with one target. Bounded:
// a store with more than MAX_ROWS rows to load (shadow rows plus links, about 300,000 users with
// one target) is not loaded, and the run asks per page as before, so memory at 1,000,000 users
// stays what it was.
//
// Never stale in a way that matters, because it never answers stale at all: every write of shadow
// rows or links through the store names its rows (store/write-watch.ts), and a row written since
// it was loaded is marked and asked from the store again, as is any id the preload does not hold
// (a row created in this run, or none). So the answers are the store's own; a dry run, which
// writes nothing, is answered entirely from memory.
import type { Store } from '../store/index.ts';
import type { ShadowDigest, TombstoneReason } from '../store/shadow.ts';
import type { LinkDigest } from '../store/links.ts';
import type { WrittenRows } from '../store/write-watch.ts';
import { GuidMap } from '../core/guid-map.ts';

/** Rows (shadow rows plus links of every target) beyond which nothing is loaded. */
export const MAX_ROWS = 600_000;
/** Rows per keyset page; between pages the event loop serves the source's requests. */
const PAGE = 4000;

// The flag byte of a slot.
const PRESENT = 1; // the table has a row of this id
const DIRTY = 2; // written since loaded: ask the store
const FP_BYTES = 4; // fingerprint held as 20 bytes
const FP_NULL = 8; // fingerprint null (a link never fully synced)
const FP_GONE = 16; // shadow: fingerprint is `gone:<tombstone>`
const FP_ODD = 32; // fingerprint held as a string in `odd`
const SET = 64; // shadow: pending; links: missing
const NAME_NULL = 128; // links: username null

const TOMBSTONES: readonly TombstoneReason[] = ['soft-deleted', 'deleted', 'out-of-scope', 'not-returned'];

/** One table's column of fingerprints and flags, indexed by the preload's id numbers. */
class Slots {
  flags = new Uint8Array(0);
  fps = Buffer.alloc(0);
  /** Fingerprints of another shape than SHA-1 base64url, by slot (kept exact). */
  readonly odd = new Map<number, string>();

  ensure(n: number): void {
    if (n <= this.flags.length) return;
    const cap = Math.max(n, Math.ceil(this.flags.length * 1.5), 1024);
    this.flags = grown(this.flags, cap);
    const fps = Buffer.alloc(cap * 20);
    this.fps.copy(fps);
    this.fps = fps;
    this.grow(cap);
  }

  protected grow(_cap: number): void {}

  /** Sets the fingerprint and the flags; a DIRTY mark set before (a write during the load) stays. */
  setFingerprint(i: number, fp: string | null, flags: number): void {
    this.odd.delete(i);
    if (fp === null) flags |= FP_NULL;
    else if (isSha1Base64url(fp)) {
      this.fps.write(fp, i * 20, 20, 'base64url');
      flags |= FP_BYTES;
    } else if (!(flags & FP_GONE)) {
      this.odd.set(i, fp);
      flags |= FP_ODD;
    }
    this.flags[i] = (this.flags[i]! & DIRTY) | flags | PRESENT;
  }

  fingerprint(i: number, flags: number): string | null {
    if (flags & FP_BYTES) return this.fps.toString('base64url', i * 20, i * 20 + 20);
    if (flags & FP_ODD) return this.odd.get(i)!;
    return null;
  }

  /** True when the slot answers for itself (a row loaded, not written since). */
  answers(i: number): boolean {
    return i < this.flags.length && (this.flags[i]! & (PRESENT | DIRTY)) === PRESENT;
  }

  markDirty(i: number): void {
    this.ensure(i + 1);
    this.flags[i]! |= DIRTY;
  }
}

class ShadowSlots extends Slots {
  tombstones = new Uint8Array(0);
  rowNos = new Float64Array(0);

  protected override grow(cap: number): void {
    this.tombstones = grown(this.tombstones, cap);
    this.rowNos = grown(this.rowNos, cap);
  }

  set(i: number, d: ShadowDigest & { rowNo: number }): void {
    this.ensure(i + 1);
    const t = d.tombstone ? TOMBSTONES.indexOf(d.tombstone) + 1 : 0;
    this.tombstones[i] = t;
    this.rowNos[i] = d.rowNo;
    // An unknown tombstone (none today) keeps its fingerprint as it is, and is not held: asked again.
    if (d.tombstone && t === 0) return this.markDirty(i);
    const gone = d.tombstone && d.fingerprint === `gone:${d.tombstone}` ? FP_GONE : 0;
    this.setFingerprint(i, d.fingerprint, gone | (d.pending ? SET : 0));
  }

  get(i: number): ShadowDigest {
    const f = this.flags[i]!;
    const tombstone = this.tombstones[i]! === 0 ? null : TOMBSTONES[this.tombstones[i]! - 1]!;
    const fingerprint = f & FP_GONE ? `gone:${tombstone}` : this.fingerprint(i, f)!;
    return { fingerprint, tombstone, pending: (f & SET) !== 0, rowNo: this.rowNos[i]! };
  }
}

class LinkSlots extends Slots {
  starts = new Uint32Array(0);
  ends = new Uint32Array(0);
  names = Buffer.alloc(0);
  used = 0;

  protected override grow(cap: number): void {
    this.starts = grown(this.starts, cap);
    this.ends = grown(this.ends, cap);
  }

  set(i: number, d: LinkDigest): void {
    this.ensure(i + 1);
    let flags = d.missing ? SET : 0;
    if (d.username === null) flags |= NAME_NULL;
    else this.putName(i, d.username);
    this.setFingerprint(i, d.fingerprint, flags);
  }

  get(i: number): LinkDigest {
    const f = this.flags[i]!;
    const username = f & NAME_NULL ? null : this.names.toString('utf8', this.starts[i]!, this.ends[i]!);
    return { fingerprint: this.fingerprint(i, f), username, missing: (f & SET) !== 0 };
  }

  private putName(i: number, name: string): void {
    const need = Buffer.byteLength(name, 'utf8');
    if (this.used + need > this.names.length) {
      const names = Buffer.alloc(Math.max(this.used + need, this.names.length * 2, 1 << 16));
      this.names.copy(names, 0, 0, this.used);
      this.names = names;
    }
    this.starts[i] = this.used;
    this.used += this.names.write(name, this.used, need, 'utf8');
    this.ends[i] = this.used;
  }
}

export class DigestPreload {
  private ids = new GuidMap();
  private shadow = new ShadowSlots();
  private readonly links = new Map<string, LinkSlots>();
  private loading = true;
  /** False once the preload is given up (too big, failed, a connector's rows all rewritten): the store answers. */
  private usable = true;
  private readonly loaded: Promise<boolean>;
  private readonly unsubscribe: () => void;

  /** Starts loading (not awaited: lookups wait for it). */
  constructor(
    private readonly store: Store,
    private readonly connectorId: string,
    targetIds: readonly string[],
    /** The bound (tests lower it). */
    private readonly maxRows = MAX_ROWS,
  ) {
    for (const t of targetIds) this.links.set(t, new LinkSlots());
    // Before the first row is read: a write during the load is marked whichever comes first.
    this.unsubscribe = store.writes.subscribe((w) => this.wrote(w));
    this.loaded = this.load().then(
      (ok) => ok,
      () => false,
    ).then((ok) => {
      this.loading = false;
      if (!ok) this.drop();
      return ok;
    });
  }

  /** Shadow digests of these ids, as ShadowRepo.digestsOf answers them. */
  async shadowDigestsOf(ids: readonly string[]): Promise<Map<string, ShadowDigest>> {
    if (!(await this.loaded) || !this.usable) return this.store.shadow.digestsOf(this.connectorId, ids);
    const out = new Map<string, ShadowDigest>();
    const ask: string[] = [];
    for (const id of ids) {
      const i = this.ids.get(id);
      if (i !== undefined && this.shadow.answers(i)) out.set(id, this.shadow.get(i));
      else ask.push(id);
    }
    if (ask.length > 0) for (const [id, d] of await this.store.shadow.digestsOf(this.connectorId, ask)) out.set(id, d);
    return out;
  }

  /** Link digests of these ids in a target, as LinkRepo.digestsOf answers them. */
  async linkDigestsOf(targetId: string, ids: readonly string[]): Promise<Map<string, LinkDigest>> {
    const slots = this.links.get(targetId);
    if (!(await this.loaded) || !this.usable || !slots) return this.store.links.digestsOf(this.connectorId, targetId, ids);
    const out = new Map<string, LinkDigest>();
    const ask: string[] = [];
    for (const id of ids) {
      const i = this.ids.get(id);
      if (i !== undefined && slots.answers(i)) out.set(id, slots.get(i));
      else ask.push(id);
    }
    if (ask.length > 0) for (const [id, d] of await this.store.links.digestsOf(this.connectorId, targetId, ask)) out.set(id, d);
    return out;
  }

  /** Whether it loaded (and answers from memory); for tests and the benchmark's notes. */
  async ready(): Promise<boolean> {
    return (await this.loaded) && this.usable;
  }

  /** The run is over: stop listening, let the memory go. */
  close(): void {
    this.drop();
  }

  private async load(): Promise<boolean> {
    let rows = await this.store.shadow.count(this.connectorId);
    for (const t of this.links.keys()) rows += await this.store.links.count(this.connectorId, t);
    // Nothing to compare with (an initial sync) or too much to hold: asked per page.
    if (rows === 0 || rows > this.maxRows) return false;
    for await (const page of this.store.shadow.digestPages(this.connectorId, PAGE)) {
      for (const d of page) this.shadow.set(this.indexOf(d.sourceId), d);
      if (!this.usable) return false;
      await breather();
    }
    for (const [targetId, slots] of this.links) {
      for await (const page of this.store.links.digestPages(this.connectorId, targetId, PAGE)) {
        for (const d of page) slots.set(this.indexOf(d.sourceId), d);
        if (!this.usable) return false;
        await breather();
      }
    }
    // Rows written meanwhile past the bound (not expected: the pipeline waits for the load) give it up too.
    return this.usable && this.ids.size <= this.maxRows;
  }

  private indexOf(id: string): number {
    const known = this.ids.get(id);
    if (known !== undefined) return known;
    const i = this.ids.size;
    this.ids.set(id, i);
    return i;
  }

  /**
   * A write through the store: its rows are asked from the store from now on. While loading, an
   * id not read yet gets its slot now, so that the row read after the write is still marked.
   */
  private wrote(w: WrittenRows): void {
    if (w.connectorId !== this.connectorId || !this.usable) return;
    if (w.table === 'all') return this.drop();
    const slots = w.table === 'shadow' ? this.shadow : this.links.get(w.targetId);
    if (!slots) return;
    for (const id of w.ids) {
      const i = this.loading ? this.indexOf(id) : this.ids.get(id);
      if (i !== undefined) slots.markDirty(i);
    }
  }

  private drop(): void {
    this.usable = false;
    this.unsubscribe();
    this.ids = new GuidMap();
    this.shadow = new ShadowSlots();
    this.links.clear();
  }
}

/** Lets the event loop run (better-sqlite3 answers synchronously: an await alone would not). */
function breather(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function grown<T extends Uint8Array | Uint32Array | Float64Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

/** base64url digits by character code: 0..63, -1 for anything else. */
const B64 = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('').forEach((c, i) => (B64[c.charCodeAt(0)] = i));

/**
 * True when `fp` is 20 bytes in unpadded base64url exactly as Node writes them (27 digits, the
 * last one's two low bits zero), so that bytes written back give the same string.
 */
function isSha1Base64url(fp: string): boolean {
  if (fp.length !== 27) return false;
  for (let i = 0; i < 27; i++) {
    const c = fp.charCodeAt(i);
    if (c >= 128 || B64[c]! < 0) return false;
  }
  return (B64[fp.charCodeAt(26)]! & 3) === 0;
}
