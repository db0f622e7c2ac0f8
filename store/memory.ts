import type { Counters, PersonRoute, RouteMemory } from "../domain/types.ts";
import type { EffectAttempt, Ledger } from "../tools/ports.ts";

/** In-process counters: for the CLI, tests and the in-memory graph. */
export class MemoryCounters implements Counters {
  readonly #values = new Map<string, number>();

  async increment(key: string): Promise<number> {
    const next = (this.#values.get(key) ?? 0) + 1;
    this.#values.set(key, next);
    return next;
  }

  async incrementBelow(key: string, limit: number): Promise<{ taken: boolean; value: number }> {
    const value = this.#values.get(key) ?? 0;
    if (value >= limit) return { taken: false, value };
    this.#values.set(key, value + 1);
    return { taken: true, value: value + 1 };
  }

  async decrement(key: string): Promise<number> {
    const value = Math.max(0, (this.#values.get(key) ?? 0) - 1);
    this.#values.set(key, value);
    return value;
  }

  async get(key: string): Promise<number> {
    return this.#values.get(key) ?? 0;
  }
}

/** In-process route memory (CLI, tests); entries expire by `clock`. */
export class MemoryRouteMemory implements RouteMemory {
  readonly #routes = new Map<string, { route: PersonRoute; expiresAt: number }>();
  readonly #clock: () => Date;

  constructor(clock: () => Date = () => new Date()) {
    this.#clock = clock;
  }

  async recall(personKey: string): Promise<PersonRoute | undefined> {
    const found = this.#routes.get(personKey);
    if (!found || found.expiresAt <= this.#clock().getTime()) return undefined;
    return { ...found.route };
  }

  async remember(personKey: string, route: PersonRoute, ttlSeconds: number): Promise<void> {
    this.#routes.set(personKey, {
      route: { ...route },
      expiresAt: this.#clock().getTime() + ttlSeconds * 1000,
    });
  }
}

/** In-process ledger; concurrent calls for one key share the first call's promise. */
export class MemoryLedger implements Ledger {
  readonly #results = new Map<string, Promise<unknown>>();
  /** Keys whose effect threw: the next attempt is told the effect may exist. */
  readonly #attempted = new Set<string>();

  once<T>(key: string, fn: (attempt: EffectAttempt) => Promise<T>): Promise<T> {
    const existing = this.#results.get(key);
    if (existing) return existing as Promise<T>;
    const pending = fn({ mayExist: this.#attempted.has(key) }).catch((err: unknown) => {
      this.#results.delete(key);
      this.#attempted.add(key);
      throw err;
    });
    this.#results.set(key, pending);
    return pending;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const found = this.#results.get(key);
    return found === undefined ? undefined : ((await found) as T);
  }
}
