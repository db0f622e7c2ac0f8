import { describe, expect, it } from "vitest";
import { DEFAULT_BACKOFF_MS, backoffDelay as queueBackoffDelay } from "../store/queue/job-queue.ts";
import {
  backoffDelay,
  classifyHttpStatus,
  defaultPolicy,
  isPreSendError,
  parseRetryAfter,
  VendorCaller,
  VendorError,
  type VendorPolicy,
  withVendorProbe,
} from "../tools/resilience.ts";

function policy(overrides: Partial<VendorPolicy> = {}): VendorPolicy {
  return {
    ...defaultPolicy,
    vendor: "acme",
    timeoutMs: 100,
    retries: 2,
    baseDelayMs: 1,
    maxDelayMs: 5,
    breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
    classify: (err) => classifyHttpStatus((err as { status?: number }).status),
    ...overrides,
  };
}

const httpError = (status: number) => Object.assign(new Error(`http ${status}`), { status });

describe("VendorCaller", () => {
  it("retries retryable failures and returns the first success", async () => {
    const caller = new VendorCaller(policy());
    let calls = 0;
    const result = await caller.call("op", async () => {
      calls++;
      if (calls < 3) throw httpError(503);
      return "ok";
    });
    expect(result).toBe("ok");
    expect(calls).toBe(3);
    caller.shutdown();
  });

  it("does not retry a client error and reports its status", async () => {
    const caller = new VendorCaller(policy());
    let calls = 0;
    const err = await caller
      .call("op", async () => {
        calls++;
        throw httpError(400);
      })
      .catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(err).toBeInstanceOf(VendorError);
    expect(err).toMatchObject({ vendor: "acme", code: "http", status: 400, retryable: false });
    caller.shutdown();
  });

  it("times out an attempt even when the SDK ignores the abort signal", async () => {
    const caller = new VendorCaller(policy({ retries: 0 }));
    const err = await caller.call("op", () => new Promise(() => {})).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "timeout" });
    caller.shutdown();
  });

  it("opens the circuit after a storm of server errors and then fails fast", async () => {
    const caller = new VendorCaller(policy({ retries: 0 }));
    let calls = 0;
    const failing = async () => {
      calls++;
      throw httpError(500);
    };
    for (let i = 0; i < 4; i++) await caller.call("op", failing).catch(() => undefined);
    expect(caller.circuitOpen).toBe(true);
    const before = calls;
    const err = await caller.call("op", failing).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "circuit_open" });
    expect(calls).toBe(before);
    caller.shutdown();
  });

  it("an open circuit reports the failure that opened it, not itself", async () => {
    const caller = new VendorCaller(policy({ retries: 0 }));
    const failing = async () => Promise.reject(httpError(503));
    for (let i = 0; i < 4; i++) await caller.call("chat.postMessage", failing).catch(() => undefined);
    const err = (await caller.call("users.lookupByEmail", failing).catch((e: unknown) => e)) as VendorError;
    expect(err).toMatchObject({ code: "circuit_open", retryable: true });
    expect(err.message).toMatch(
      /^acme: chat\.postMessage: http 503 \(circuit open since .*: users\.lookupByEmail not called\)$/,
    );
    caller.shutdown();
  });

  it("inside withVendorProbe an open circuit is tried once; success closes it", async () => {
    const caller = new VendorCaller(policy({ retries: 0 }));
    let calls = 0;
    for (let i = 0; i < 4; i++)
      await caller.call("op", async () => Promise.reject(httpError(500))).catch(() => undefined);
    expect(caller.circuitOpen).toBe(true);
    const ok = async () => {
      calls++;
      return "ok";
    };
    // Outside a probe: fails fast, the vendor is not called.
    await expect(caller.call("op", ok)).rejects.toMatchObject({ code: "circuit_open" });
    expect(calls).toBe(0);
    expect(await withVendorProbe(() => caller.call("op", ok))).toBe("ok");
    expect(calls).toBe(1);
    expect(caller.circuitOpen).toBe(false);
    expect(await caller.call("op", ok)).toBe("ok");
    caller.shutdown();
  });

  it("a probe that fails keeps the circuit open and reports the vendor's own error", async () => {
    const caller = new VendorCaller(policy({ retries: 0 }));
    for (let i = 0; i < 4; i++)
      await caller.call("op", async () => Promise.reject(httpError(500))).catch(() => undefined);
    const err = await withVendorProbe(() =>
      caller.call("op", async () => Promise.reject(httpError(502))),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "http", status: 502 });
    expect(caller.circuitOpen).toBe(true);
    caller.shutdown();
  });

  it("probes through an open circuit go one at a time", async () => {
    const caller = new VendorCaller(policy({ retries: 0 }));
    for (let i = 0; i < 4; i++)
      await caller.call("op", async () => Promise.reject(httpError(500))).catch(() => undefined);
    let inFlight = 0;
    let peak = 0;
    const slow = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      throw httpError(503);
    };
    const probes = Array.from({ length: 3 }, () =>
      withVendorProbe(() => caller.call("op", slow)).catch(() => undefined),
    );
    await Promise.all(probes);
    expect(peak).toBe(1);
    caller.shutdown();
  });

  it("the queue's first automatic retry comes after an open circuit would let calls through again", () => {
    expect(queueBackoffDelay(1, DEFAULT_BACKOFF_MS)).toBeGreaterThan(defaultPolicy.breaker.resetTimeoutMs);
  });

  it("client errors do not open the circuit", async () => {
    const caller = new VendorCaller(policy({ retries: 0 }));
    for (let i = 0; i < 6; i++)
      await caller.call("op", async () => Promise.reject(httpError(404))).catch(() => undefined);
    expect(caller.circuitOpen).toBe(false);
    caller.shutdown();
  });
});

const refused = () =>
  new TypeError("fetch failed", {
    cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }),
  });

describe("VendorCaller with idempotent: false", () => {
  it("retries a timed-out idempotent call but attempts a non-idempotent one once", async () => {
    const caller = new VendorCaller(policy({ timeoutMs: 20 }));
    let reads = 0;
    const read = await caller
      .call("read", () => {
        reads++;
        return new Promise(() => {});
      })
      .catch((e: unknown) => e);
    expect(read).toMatchObject({ code: "timeout", retryable: true });
    expect(reads).toBe(3);
    caller.shutdown();

    const writer = new VendorCaller(policy({ timeoutMs: 20 }));
    let writes = 0;
    const write = await writer
      .call(
        "create",
        () => {
          writes++;
          return new Promise(() => {});
        },
        { idempotent: false },
      )
      .catch((e: unknown) => e);
    expect(write).toBeInstanceOf(VendorError);
    expect(write).toMatchObject({ code: "timeout", retryable: false });
    expect(writes).toBe(1);
    writer.shutdown();
  });

  it("does not retry a non-idempotent call after a 5xx or a reset connection", async () => {
    const caller = new VendorCaller(policy());
    for (const failure of [
      httpError(502),
      Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
    ]) {
      let calls = 0;
      const err = await caller
        .call(
          "create",
          async () => {
            calls++;
            throw failure;
          },
          { idempotent: false },
        )
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ retryable: false });
      expect(calls).toBe(1);
    }
    caller.shutdown();
  });

  it("retries a non-idempotent call rejected with 429", async () => {
    const caller = new VendorCaller(policy());
    let calls = 0;
    const result = await caller.call(
      "create",
      async () => {
        calls++;
        if (calls === 1) throw httpError(429);
        return "created";
      },
      { idempotent: false },
    );
    expect(result).toBe("created");
    expect(calls).toBe(2);
    caller.shutdown();
  });

  it("retries a non-idempotent call whose request never left the machine", async () => {
    // A wider breaker window: four connection failures in six calls would otherwise open the circuit.
    const caller = new VendorCaller(
      policy({ breaker: { volumeThreshold: 100, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 } }),
    );
    let calls = 0;
    const result = await caller.call(
      "create",
      async () => {
        calls++;
        if (calls < 3) throw refused();
        return "created";
      },
      { idempotent: false },
    );
    expect(result).toBe("created");
    expect(calls).toBe(3);

    let failures = 0;
    const err = await caller
      .call(
        "create",
        async () => {
          failures++;
          throw refused();
        },
        { idempotent: false },
      )
      .catch((e: unknown) => e);
    // Still safe to repeat later: every attempt failed before sending.
    expect(err).toMatchObject({ code: "network", retryable: true });
    expect(failures).toBe(3);
    caller.shutdown();
  });
});

describe("isPreSendError", () => {
  const coded = (code: string) => Object.assign(new Error(code), { code });

  it("finds a connect-time code on the error, its cause or an SDK's wrapped original", () => {
    expect(isPreSendError(coded("ECONNREFUSED"))).toBe(true);
    expect(isPreSendError(refused())).toBe(true);
    expect(isPreSendError({ code: "slack_webapi_request_error", original: coded("ENOTFOUND") })).toBe(true);
    expect(isPreSendError(new Error("x", { cause: new Error("y", { cause: coded("EAI_AGAIN") }) }))).toBe(
      true,
    );
  });

  it("needs every error of an AggregateError to be pre-send", () => {
    expect(isPreSendError(new AggregateError([coded("ECONNREFUSED"), coded("EHOSTUNREACH")]))).toBe(true);
    expect(isPreSendError(new AggregateError([coded("ECONNREFUSED"), coded("ECONNRESET")]))).toBe(false);
    expect(isPreSendError(new AggregateError([]))).toBe(false);
  });

  it("is false for resets, timeouts, HTTP errors and non-errors", () => {
    expect(isPreSendError(coded("ECONNRESET"))).toBe(false);
    expect(isPreSendError(new DOMException("timed out", "TimeoutError"))).toBe(false);
    expect(isPreSendError(httpError(500))).toBe(false);
    expect(isPreSendError(undefined)).toBe(false);
    expect(isPreSendError("ECONNREFUSED")).toBe(false);
  });
});

describe("backoff and Retry-After", () => {
  it("parses seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("Sat, 21 Nov 2026 10:00:05 GMT", Date.parse("2026-11-21T10:00:00Z"))).toBe(5000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it("uses the vendor's delay, capped, else jittered exponential backoff", () => {
    const p = { baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 2000 };
    expect(backoffDelay(0, p, 1500)).toBe(1500);
    expect(backoffDelay(0, p, 60_000)).toBe(2000);
    expect(backoffDelay(0, p, undefined, () => 0)).toBe(50);
    expect(backoffDelay(3, p, undefined, () => 1)).toBe(800);
    expect(backoffDelay(10, p, undefined, () => 1)).toBe(1000);
  });

  it("classifies statuses", () => {
    expect(classifyHttpStatus(429, 10)).toMatchObject({
      retryable: true,
      tripsCircuit: false,
      retryAfterMs: 10,
    });
    expect(classifyHttpStatus(502)).toMatchObject({ retryable: true, tripsCircuit: true });
    expect(classifyHttpStatus(403)).toMatchObject({ retryable: false, tripsCircuit: false });
    expect(classifyHttpStatus(undefined)).toMatchObject({ code: "network", retryable: true });
  });
});
