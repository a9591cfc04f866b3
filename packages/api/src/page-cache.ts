/**
 * Pages read under one audit generation, least recently used dropped first, bounded by the items
 * they hold plus one (not the number of pages: a page of 100 weighs about four of 25, and empty
 * pages still count). A new generation empties it,
 * and the same page asked for by many requests at once is read once.
 */
export class PageCache<T extends { readonly items: readonly unknown[] }> {
  readonly #maxItems: number;
  #generation: string | undefined;
  readonly #pages = new Map<string, T>();
  readonly #reading = new Map<string, Promise<T>>();
  #items = 0;

  constructor(options: { readonly maxItems: number }) {
    this.#maxItems = options.maxItems;
  }

  /** Weight held now: items plus one per page (for the bound's test). */
  get size(): number {
    return this.#items;
  }

  async get(generation: string, key: string, read: () => Promise<T>): Promise<T> {
    if (generation !== this.#generation) {
      this.#generation = generation;
      this.#pages.clear();
      this.#reading.clear();
      this.#items = 0;
    }
    const hit = this.#pages.get(key);
    if (hit !== undefined) {
      // Map keeps insertion order: re-inserting makes it the most recently used.
      this.#pages.delete(key);
      this.#pages.set(key, hit);
      return hit;
    }
    const pending = this.#reading.get(key);
    if (pending !== undefined) return pending;
    const reading = read();
    this.#reading.set(key, reading);
    try {
      const page = await reading;
      // Kept only if no newer generation arrived while it was read.
      if (this.#generation === generation && this.#reading.get(key) === reading) this.#keep(key, page);
      return page;
    } finally {
      if (this.#reading.get(key) === reading) this.#reading.delete(key);
    }
  }

  #keep(key: string, page: T): void {
    if (weight(page) > this.#maxItems) return;
    this.#pages.set(key, page);
    this.#items += weight(page);
    for (const [oldest, old] of this.#pages) {
      if (this.#items <= this.#maxItems) break;
      this.#pages.delete(oldest);
      this.#items -= weight(old);
    }
  }
}

const weight = (page: { readonly items: readonly unknown[] }) => page.items.length + 1;
