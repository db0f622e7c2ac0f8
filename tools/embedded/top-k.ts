/**
 * The k best (slot, score) pairs seen: a binary heap with the worst kept at the root, so most candidates
 * are turned away by one comparison. Better means a higher score, then the smaller id.
 */
export class TopK {
  readonly #slots: Int32Array;
  readonly #scores: Float64Array;
  readonly #ids: readonly string[];
  #size = 0;

  constructor(capacity: number, ids: readonly string[]) {
    this.#slots = new Int32Array(capacity);
    this.#scores = new Float64Array(capacity);
    this.#ids = ids;
  }

  /** Whether k pairs are held: a score below `worstScore` can then no longer enter. */
  get full(): boolean {
    return this.#size === this.#slots.length;
  }

  /** The score of the worst pair held (at the root). */
  get worstScore(): number {
    return this.#scores[0] as number;
  }

  offer(slot: number, score: number): void {
    const capacity = this.#slots.length;
    if (this.#size < capacity) {
      this.#slots[this.#size] = slot;
      this.#scores[this.#size] = score;
      this.#size++;
      this.#up(this.#size - 1);
      return;
    }
    if (!this.#better(slot, score, this.#slots[0] as number, this.#scores[0] as number)) return;
    this.#slots[0] = slot;
    this.#scores[0] = score;
    this.#down(0);
  }

  sorted(): Array<{ slot: number; score: number }> {
    const out = Array.from({ length: this.#size }, (_, i) => ({
      slot: this.#slots[i] as number,
      score: this.#scores[i] as number,
    }));
    return out.sort((a, b) => (this.#better(a.slot, a.score, b.slot, b.score) ? -1 : 1));
  }

  #better(slotA: number, scoreA: number, slotB: number, scoreB: number): boolean {
    if (scoreA !== scoreB) return scoreA > scoreB;
    return (this.#ids[slotA] as string) < (this.#ids[slotB] as string);
  }

  /** Whether position i should sit above position j (it is worse). */
  #worse(i: number, j: number): boolean {
    return this.#better(
      this.#slots[j] as number,
      this.#scores[j] as number,
      this.#slots[i] as number,
      this.#scores[i] as number,
    );
  }

  #swap(i: number, j: number): void {
    const slot = this.#slots[i] as number;
    const score = this.#scores[i] as number;
    this.#slots[i] = this.#slots[j] as number;
    this.#scores[i] = this.#scores[j] as number;
    this.#slots[j] = slot;
    this.#scores[j] = score;
  }

  #up(start: number): void {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#worse(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(start: number): void {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < this.#size && this.#worse(left, worst)) worst = left;
      if (right < this.#size && this.#worse(right, worst)) worst = right;
      if (worst === i) return;
      this.#swap(i, worst);
      i = worst;
    }
  }
}
