// A map from string keys (normalised member DNs, `uid:` keys) to small non-negative integers,
// held outside the V8 heap (issue 9: memory flat in the directory's size). A Map of 100,000
// DN strings costs ~100 bytes an entry in the heap; here a key is its UTF-8 bytes in one
// growing buffer plus 12 bytes of open-addressing slot. Keys are compared byte for byte, so a
// lookup is exact: two keys never share a value through a hash collision.

const MIN_SLOTS = 1024;

export class KeyTable {
  private bytes: Buffer = Buffer.allocUnsafe(64 * 1024);
  private used = 0; // bytes of `bytes` in use
  /** Per slot: key offset + 1 (0 marks a free slot), key length, value. */
  private offsets = new Int32Array(MIN_SLOTS);
  private lengths = new Int32Array(MIN_SLOTS);
  private values = new Int32Array(MIN_SLOTS);
  private count = 0;
  private scratch: Buffer = Buffer.allocUnsafe(1024);

  get size(): number {
    return this.count;
  }

  get(key: string): number | undefined {
    const n = this.encode(key);
    const slot = this.find(n);
    return this.offsets[slot] === 0 ? undefined : this.values[slot];
  }

  set(key: string, value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new RangeError(`KeyTable holds integers 0..2^31-1, not ${value}`);
    const n = this.encode(key);
    const slot = this.find(n);
    if (this.offsets[slot] === 0) {
      if (this.used + n > this.bytes.length) this.bytes = grownBuffer(this.bytes, this.used + n);
      this.scratch.copy(this.bytes, this.used, 0, n);
      this.offsets[slot] = this.used + 1;
      this.lengths[slot] = n;
      this.used += n;
      this.count++;
      this.values[slot] = value;
      if (this.count * 4 > this.offsets.length * 3) this.grow();
      return;
    }
    this.values[slot] = value;
  }

  /** Every key with its value (keys decoded afresh; order unspecified). */
  *entries(): Generator<[string, number]> {
    for (let slot = 0; slot < this.offsets.length; slot++) {
      const at = this.offsets[slot]!;
      if (at === 0) continue;
      yield [this.bytes.toString('utf8', at - 1, at - 1 + this.lengths[slot]!), this.values[slot]!];
    }
  }

  /** Bytes held outside the V8 heap. */
  get tableBytes(): number {
    return this.bytes.length + this.offsets.byteLength * 3;
  }

  /** The key's UTF-8 bytes into `scratch`; their number. */
  private encode(key: string): number {
    if (key.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(key.length * 3);
    return this.scratch.write(key, 0, 'utf8');
  }

  /** FNV-1a over the scratch bytes. */
  private hash(n: number, from: Buffer = this.scratch, at = 0): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ from[at + i]!, 0x01000193);
    return h >>> 0;
  }

  /** The slot holding the scratch key of `n` bytes, or the free slot where it belongs. */
  private find(n: number): number {
    const mask = this.offsets.length - 1;
    let slot = this.hash(n) & mask;
    for (;;) {
      const at = this.offsets[slot]!;
      if (at === 0) return slot;
      if (this.lengths[slot] === n && this.bytes.compare(this.scratch, 0, n, at - 1, at - 1 + n) === 0) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const [offsets, lengths, values] = [this.offsets, this.lengths, this.values];
    this.offsets = new Int32Array(offsets.length * 2);
    this.lengths = new Int32Array(offsets.length * 2);
    this.values = new Int32Array(offsets.length * 2);
    const mask = this.offsets.length - 1;
    for (let old = 0; old < offsets.length; old++) {
      const at = offsets[old]!;
      if (at === 0) continue;
      let slot = this.hash(lengths[old]!, this.bytes, at - 1) & mask;
      while (this.offsets[slot] !== 0) slot = (slot + 1) & mask;
      this.offsets[slot] = at;
      this.lengths[slot] = lengths[old]!;
      this.values[slot] = values[old]!;
    }
  }
}

function grownBuffer(old: Buffer, atLeast: number): Buffer {
  let size = old.length * 2;
  while (size < atLeast) size *= 2;
  const next = Buffer.allocUnsafe(size);
  old.copy(next, 0, 0);
  return next;
}
