/**
 * Over 300 lines because the retry, timeout, circuit-breaker and vendor rate-limit (Retry-After) policy is one mechanism every vendor adapter shares.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import CircuitBreaker from "opossum";

export type VendorErrorCode = "timeout" | "circuit_open" | "rate_limited" | "http" | "network";

/** A vendor call that failed after the policy gave up. */
export class VendorError extends Error {
  override readonly name = "VendorError";
  readonly vendor: string;
  readonly code: VendorErrorCode;
  readonly status: number | undefined;
  readonly retryable: boolean;

  constructor(
    vendor: string,
    code: VendorErrorCode,
    message: string,
    options: { status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(`${vendor}: ${message}`, { cause: options.cause });
    this.vendor = vendor;
    this.code = code;
    this.status = options.status;
    this.retryable = options.retryable ?? false;
  }
}

/** How an adapter reads its SDK's errors. */
export interface ErrorClassification {
  /** Worth another attempt (429, 5xx, network, timeout). */
  retryable: boolean;
  /** Counts against the circuit (server-side trouble, not our bad request). */
  tripsCircuit: boolean;
  /** Delay the vendor asked for (Retry-After), in ms. */
  retryAfterMs?: number;
  status?: number;
  code: VendorErrorCode;
}

export interface VendorPolicy {
  vendor: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Caps a vendor's Retry-After so one call cannot stall a worker for minutes. */
  maxRetryAfterMs: number;
  breaker: { volumeThreshold: number; errorThresholdPercentage: number; resetTimeoutMs: number };
  classify: (err: unknown) => ErrorClassification;
}

export const defaultPolicy = {
  timeoutMs: 10_000,
  retries: 3,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
  breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 30_000 },
} satisfies Omit<VendorPolicy, "vendor" | "classify">;

/** Overrides a vendor policy may take; the vendor's name and error reading are its own. */
export type PolicyOverrides = Partial<Omit<VendorPolicy, "vendor" | "classify">>;

/** A vendor's policy: the shared defaults, the caller's overrides, the vendor's own classifier. */
export function vendorPolicy(
  vendor: string,
  classify: VendorPolicy["classify"],
  overrides: PolicyOverrides = {},
): VendorPolicy {
  return { ...defaultPolicy, ...overrides, vendor, classify };
}

/** An SDK's own timeout or abort, possibly wrapped (`cause`, or an SDK's `original`). */
export function isTimeoutError(err: unknown, depth = 0): boolean {
  if (depth > 5 || typeof err !== "object" || err === null) return false;
  const { name, cause, original } = err as { name?: unknown; cause?: unknown; original?: unknown };
  if (name === "TimeoutError" || name === "AbortError") return true;
  return isTimeoutError(original, depth + 1) || isTimeoutError(cause, depth + 1);
}

/** Reads a Retry-After header value (seconds or HTTP date) into ms. */
export function parseRetryAfter(
  value: string | number | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(String(value));
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Full-jitter exponential backoff, or the vendor's Retry-After when it gave one. */
export function backoffDelay(
  attempt: number,
  policy: Pick<VendorPolicy, "baseDelayMs" | "maxDelayMs" | "maxRetryAfterMs">,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** Node/undici error codes raised before any byte of the request left the machine. */
const preSendCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * True when the request certainly never reached the server (connection refused, DNS failure):
 * looks through `cause`, an SDK's wrapped `original`, and every error of an AggregateError.
 */
export function isPreSendError(err: unknown, depth = 0): boolean {
  if (depth > 5 || typeof err !== "object" || err === null) return false;
  const { code, cause, errors, original } = err as {
    code?: unknown;
    cause?: unknown;
    errors?: unknown;
    original?: unknown;
  };
  if (typeof code === "string" && preSendCodes.has(code)) return true;
  if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => isPreSendError(e, depth + 1)))
    return true;
  return isPreSendError(original, depth + 1) || isPreSendError(cause, depth + 1);
}

export interface CallOptions {
  /**
   * Whether repeating the call is harmless (reads, upserts, PATCH). Default true. A call that
   * creates something without an idempotency key (a post, a note) is retried only when the vendor
   * certainly did not act on it: a 429 (rejected before processing) or a request that never left
   * the machine (`isPreSendError`). A 5xx, a reset connection or a timeout may follow a stored record.
   */
  idempotent?: boolean;
}

class AttemptError extends Error {
  readonly classification: ErrorClassification;
  readonly original: unknown;
  constructor(classification: ErrorClassification, original: unknown) {
    super(original instanceof Error ? original.message : String(original));
    this.classification = classification;
    this.original = original;
  }
}

const probing = new AsyncLocalStorage<true>();

/**
 * Runs `fn` as an admin retry: a vendor call made inside it whose circuit is open tries the vendor (one such
 * call at a time per vendor, as a half-open circuit would) instead of failing fast. Its success closes the
 * circuit; its failure keeps it open and is reported as the vendor's own error.
 */
export function withVendorProbe<T>(fn: () => Promise<T>): Promise<T> {
  return probing.run(true, fn);
}

/**
 * One per vendor: every call gets a timeout, bounded retries with backoff honouring
 * Retry-After, and a shared circuit breaker so a vendor outage fails fast.
 */
export class VendorCaller {
  readonly policy: VendorPolicy;
  readonly #breaker: CircuitBreaker<[(signal: AbortSignal) => Promise<unknown>], unknown>;
  readonly #attempt: (fn: (signal: AbortSignal) => Promise<unknown>) => Promise<unknown>;
  /** The last failure that counted against the circuit: what an open circuit reports instead of itself. */
  #lastFailure: string | undefined;
  #openedAt: Date | undefined;
  /** Probes through an open circuit go one at a time. */
  #probes: Promise<unknown> = Promise.resolve();

  constructor(policy: VendorPolicy) {
    this.policy = policy;
    this.#attempt = async (attempt: (signal: AbortSignal) => Promise<unknown>) => {
      const signal = AbortSignal.timeout(policy.timeoutMs);
      try {
        // Race as well as pass the signal: an SDK that ignores it must not hang the worker.
        return await Promise.race([attempt(signal), rejectOnAbort(signal)]);
      } catch (err) {
        const classification = signal.aborted
          ? { retryable: true, tripsCircuit: true, code: "timeout" as const }
          : policy.classify(err);
        throw new AttemptError(classification, err);
      }
    };
    this.#breaker = new CircuitBreaker(this.#attempt, {
      // The attempt enforces its own timeout through the AbortSignal.
      timeout: false,
      volumeThreshold: policy.breaker.volumeThreshold,
      errorThresholdPercentage: policy.breaker.errorThresholdPercentage,
      resetTimeout: policy.breaker.resetTimeoutMs,
      errorFilter: (err: unknown) => err instanceof AttemptError && !err.classification.tripsCircuit,
    });
    this.#breaker.on("open", () => {
      this.#openedAt = new Date();
    });
  }

  get circuitOpen(): boolean {
    return this.#breaker.opened;
  }

  /** Runs `fn` under the policy; `fn` must pass the signal to its HTTP call. */
  async call<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options: CallOptions = {},
  ): Promise<T> {
    const { vendor } = this.policy;
    const idempotent = options.idempotent ?? true;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.#fire(fn)) as T;
      } catch (err) {
        if (!(err instanceof AttemptError)) {
          // opossum rejects with its own error when the circuit is open. The lead keeps the root cause: the
          // failure that opened the circuit, not "circuit open".
          const since = this.#openedAt ? ` since ${this.#openedAt.toISOString()}` : "";
          const cause = this.#lastFailure ?? `${operation}: failing`;
          throw new VendorError(
            vendor,
            "circuit_open",
            `${cause} (circuit open${since}: ${operation} not called)`,
            {
              retryable: true,
              cause: err,
            },
          );
        }
        const c = err.classification;
        if (c.tripsCircuit) this.#lastFailure = `${operation}: ${err.message}`;
        const retryable =
          c.retryable && (idempotent || c.code === "rate_limited" || isPreSendError(err.original));
        if (!retryable || attempt >= this.policy.retries) {
          throw new VendorError(vendor, c.code, `${operation}: ${err.message}`, {
            ...(c.status === undefined ? {} : { status: c.status }),
            retryable,
            cause: err.original,
          });
        }
        await sleep(backoffDelay(attempt, this.policy, c.retryAfterMs));
      }
    }
  }

  /** Through the breaker; inside `withVendorProbe`, an open circuit is tried once rather than failing fast. */
  #fire(fn: (signal: AbortSignal) => Promise<unknown>): Promise<unknown> {
    if (!this.#breaker.opened || probing.getStore() !== true) return this.#breaker.fire(fn);
    const turn = this.#probes.then(async () => {
      // An earlier probe closed it: an ordinary call.
      if (!this.#breaker.opened) return this.#breaker.fire(fn);
      try {
        const value = await this.#attempt(fn);
        this.#breaker.close();
        return value;
      } catch (err) {
        // Still down: the circuit stays open (its reset timer starts again) and the caller gets the real error.
        if (err instanceof AttemptError && err.classification.tripsCircuit) this.#breaker.open();
        throw err;
      }
    });
    this.#probes = turn.catch(() => undefined);
    return turn;
  }

  shutdown(): void {
    this.#breaker.shutdown();
  }
}

/** Classification for errors that carry an HTTP status (most SDKs expose `status` or `code`). */
export function classifyHttpStatus(status: number | undefined, retryAfterMs?: number): ErrorClassification {
  if (status === undefined) return { retryable: true, tripsCircuit: true, code: "network" };
  if (status === 429)
    return {
      retryable: true,
      tripsCircuit: false,
      code: "rate_limited",
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  if (status === 408 || status >= 500)
    return {
      retryable: true,
      tripsCircuit: true,
      code: "http",
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  return { retryable: false, tripsCircuit: false, code: "http", status };
}
