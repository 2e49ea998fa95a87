/**
 * Runs async work exclusively per key, in this process. Reporting uses it so that two writes to
 * the same delivery record never overlap: FerretDB v1 evaluates an update's filter in its own
 * process and writes the whole document back without a transaction, so overlapping updates of one
 * document could lose one of them. (MongoDB needs no help; the lock costs it nothing.)
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Number of keys currently held or waited for (for tests). */
  get size(): number {
    return this.#tails.size;
  }

  /**
   * Runs `fn` once every key is free, holding them all until it settles. Keys are taken in sorted
   * order, so two callers with overlapping key sets cannot deadlock.
   */
  async run<T>(keys: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const key of sorted) releases.push(await this.#acquire(key));
      return await fn();
    } finally {
      for (const release of releases) release();
    }
  }

  async #acquire(key: string): Promise<() => void> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => held);
    this.#tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
  }
}
