import { describe, expect, it } from "vitest";
import { accountText, corpusAccountText, leadText, sizeBand } from "../domain/accounts/profile.ts";
import type { Enrichment, NormalizedLead, PastAccount } from "../domain/types.ts";
import { fnv1a, HashingEmbedder, tokenize } from "../tools/embedded/hashing-embedder.ts";

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0);
}

function account(overrides: Partial<PastAccount>): PastAccount {
  return {
    id: "a1",
    name: "Acme",
    domain: "acme.io",
    industry: "software",
    employees: 450,
    country: "DE",
    region: "EMEA",
    outcome: "won",
    arr: 60_000,
    note: "Won on routing accuracy",
    ...overrides,
  };
}

const lead: NormalizedLead = {
  email: "dana@globex.de",
  emailDomain: "globex.de",
  country: "DE",
  region: "EMEA",
  source: "web",
  utm: {},
};
const enrichment: Enrichment = {
  values: { industry: "Software", employees: 480, techStack: ["Salesforce"] },
  provenance: {},
};

describe("HashingEmbedder", () => {
  const embedder = new HashingEmbedder();

  it("is deterministic: same text, same vector, across instances", async () => {
    const [a] = await embedder.embed(["industry: software\nsize: 201-1000 employees"]);
    const [b] = await new HashingEmbedder().embed(["industry: software\nsize: 201-1000 employees"]);
    expect(a).toEqual(b);
    // FNV-1a's published test value: the hash must not drift between releases or the index goes stale.
    expect(fnv1a("hello")).toBe(0x4f9f2cab);
  });

  it("returns unit vectors of the configured dimension", async () => {
    const small = new HashingEmbedder({ dimension: 64 });
    const [v] = await small.embed(["Software company in Germany with 480 employees"]);
    expect(small.dimension).toBe(64);
    expect(v).toHaveLength(64);
    expect(Math.hypot(...(v ?? []))).toBeCloseTo(1, 10);
    expect(embedder.dimension).toBe(256);
  });

  it("maps empty text to the zero vector instead of dividing by zero", async () => {
    const [v] = await embedder.embed([""]);
    expect(v?.every((x) => x === 0)).toBe(true);
  });

  it("emits structured tokens for key: value lines", () => {
    const tokens = tokenize("industry: Financial Services\ntech: salesforce, snowflake").map((t) => t.token);
    expect(tokens).toEqual(
      expect.arrayContaining([
        "industry=financial services",
        "tech=salesforce",
        "tech=snowflake",
        "financial",
        "services",
      ]),
    );
  });

  it("places similar companies closer than dissimilar ones", async () => {
    // Same industry and size band, European: the accounts an AE would call comparable.
    const near = [
      account({ id: "n1" }),
      account({ id: "n2", country: "FR" }),
      account({ id: "n3", employees: 900, country: "GB" }),
    ];
    // Nothing in common with the lead.
    const far = [
      account({ id: "f1", industry: "retail", employees: 20_000, country: "JP", region: "APAC" }),
      account({ id: "f2", industry: "nonprofit", employees: 8, country: "BR", region: "LATAM" }),
      account({ id: "f3", industry: "manufacturing", employees: 3_000, country: "US", region: "NA" }),
    ];
    const [query, ...vectors] = await embedder.embed([
      leadText(lead, enrichment),
      ...[...near, ...far].map(accountText),
    ]);
    const scores = vectors.map((v) => cosine(query!, v));
    const nearScores = scores.slice(0, near.length);
    const farScores = scores.slice(near.length);

    expect(Math.min(...nearScores)).toBeGreaterThan(Math.max(...farScores));
    expect(Math.min(...nearScores)).toBeGreaterThan(0.5);
  });

  it("gives exactly the vectors of the uncached, encode-every-token version it replaced", async () => {
    // The version before issue 12, inline: every token UTF-8 encoded and hashed on every call.
    const fnvReference = (text: string) => {
      let hash = 0x811c9dc5;
      for (const byte of new TextEncoder().encode(text)) {
        hash ^= byte;
        hash = Math.imul(hash, 0x01000193);
      }
      return hash >>> 0;
    };
    const mixReference = (input: number) => {
      let h = input;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return h >>> 0;
    };
    const weights = { industry: 4, size: 2 };
    const reference = (text: string, dimension: number) => {
      const vector = new Array<number>(dimension).fill(0);
      for (const { token, weight } of tokenize(text, weights)) {
        const hash = mixReference(fnvReference(token));
        const bucket = (hash & 0x7fffffff) % dimension;
        vector[bucket] = (vector[bucket] ?? 0) + (hash & 0x80000000 ? -1 : 1) * weight;
      }
      const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
      return norm === 0 ? vector : vector.map((v) => v / norm);
    };
    const texts = [
      "industry: software\nsize: 201-1000 employees\nsegment: mid-market\ncountry: DE\nregion: EMEA",
      "Industry: Financial Services. Tech: Salesforce, HubSpot, SAP.\r\nnote: won on price",
      "industry: ingeniería\ncountry: ES\nGeschäftsführer Müller ΣΊΣΥΦΟΣ 東京",
      "",
      "   \n\n",
    ];
    for (const dimension of [7, 512]) {
      const cached = new HashingEmbedder({ dimension, keyWeights: weights });
      // Twice each: the second call answers from the line cache.
      for (const text of [...texts, ...texts])
        expect(cached.embedOne(text)).toEqual(reference(text, dimension));
    }
    expect(fnv1a("Geschäftsführer")).toBe(fnvReference("Geschäftsführer"));
    expect(fnv1a("東京 tokyo")).toBe(fnvReference("東京 tokyo"));
  });

  it("hands out its vectors sparsely: embedOne's non-zero entries, ascending, for queries and for bulk loads", () => {
    const texts = [
      "industry: software\nsize: 201-1000 employees\nsegment: mid-market\ncountry: DE\nregion: EMEA",
      "industry: healthcare\ncountry: CA",
      "Geschäftsführer Müller, 東京",
      "",
    ];
    const queries = new HashingEmbedder({ dimension: 512, keyWeights: { industry: 4 } });
    const bulk = new HashingEmbedder({ dimension: 512, keyWeights: { industry: 4 } }).bulkSparse();
    for (const text of texts) {
      const dense = queries.embedOne(text);
      const nonZero = dense.flatMap((v, i) => (v === 0 ? [] : [i]));
      const expected = { dimension: 512, indices: nonZero, values: nonZero.map((i) => dense[i]) };
      expect(queries.embedSparse(text)).toEqual(expected);
      expect(bulk(text)).toEqual(expected);
    }
    // Identical texts share one vector: what lets a corpus of repeated profiles stay small.
    expect(bulk(texts[0]!)).toBe(bulk(`${texts[0]}`));
    expect(queries.embedSparse(texts[1]!)).toBe(queries.embedSparse(texts[1]!));
  });

  it("rejects a nonsensical dimension", () => {
    expect(() => new HashingEmbedder({ dimension: 0 })).toThrow(RangeError);
  });
});

describe("profile texts", () => {
  it("writes the same lines for a lead and an account with the same profile", () => {
    expect(accountText(account({ employees: 480 }))).toBe(
      "industry: software\nsize: 201-1000 employees\nsegment: mid-market\ncountry: DE\nregion: EMEA",
    );
    expect(leadText(lead, { values: { industry: "Software", employees: 480 }, provenance: {} })).toBe(
      accountText(account({ employees: 480 })),
    );
  });

  it("bands employee counts", () => {
    expect(sizeBand(8)).toEqual({ band: "1-10", segment: "micro" });
    expect(sizeBand(200)).toEqual({ band: "51-200", segment: "smb" });
    expect(sizeBand(201)).toEqual({ band: "201-1000", segment: "mid-market" });
    expect(sizeBand(50_000)).toEqual({ band: "5001+", segment: "enterprise" });
  });

  it("falls back to the company country when the lead gave none", () => {
    const text = leadText(
      { ...lead, country: undefined, region: undefined },
      {
        values: { country: "FR" },
        provenance: {},
      },
    );
    expect(text).toBe("country: FR");
  });

  it("gives a corpus each account's own text, built once per profile", () => {
    const text = corpusAccountText();
    const seen: string[] = [];
    for (const industry of ["software", " Software ", "retail"])
      for (const employees of [0, -3, 1, 10, 11, 200, 201, 5000, 5001, 1e9, Number.NaN])
        for (const [country, region] of [
          ["DE", "EMEA"],
          ["de", "EMEA"],
          ["US", "NA"],
        ] as const) {
          const a = account({ industry, employees, country, region });
          const once = text(a);
          expect(once).toBe(accountText(a));
          seen.push(once);
          // The same profile again is the very string built the first time.
          expect(text({ ...a, id: "other", name: "Other", employees })).toBe(once);
        }
    expect(new Set(seen).size).toBeGreaterThan(20);
  });
});
