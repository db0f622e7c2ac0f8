import { describe, expect, it } from "vitest";
import { normalizePersonEmail, personKey } from "../domain/routing/sticky.ts";

describe("personKey", () => {
  it("recognises the same person across case, spaces and +tags", () => {
    expect(normalizePersonEmail(" Jane.Doe+Webinar@Acme.COM ")).toBe("jane.doe@acme.com");
    expect(personKey("Jane.Doe+webinar@acme.com")).toBe(personKey("jane.doe@ACME.com"));
    expect(personKey("jane.doe@acme.com")).not.toBe(personKey("john.doe@acme.com"));
  });

  it("is a SHA-256 hex digest that does not contain the email", () => {
    const key = personKey("jane.doe@acme.com");
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toContain("jane");
  });

  it("keeps a local part that is only a tag", () => {
    expect(normalizePersonEmail("+tag@acme.com")).toBe("+tag@acme.com");
  });
});
