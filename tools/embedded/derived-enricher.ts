import { departmentOf, seniorityOf } from "../../domain/enrich/title.ts";
import { isDisposableDomain, isFreeMailDomain } from "../../domain/normalize/free-mail.ts";
import type { EnrichmentValues } from "../../domain/types.ts";
import type { Enricher, EnricherResult } from "../ports.ts";

/**
 * Facts read off the lead itself, no lookups: free-mail and disposable flags of the email domain,
 * seniority and department of the title. Always first in the chain, so it never waits on a vendor.
 */
export function createDerivedEnricher(): Enricher {
  return {
    name: "derived",
    async enrich(lead): Promise<EnricherResult> {
      // A throwaway address is only disposable: scoring penalises it once, as disposable, not twice.
      const disposable = isDisposableDomain(lead.emailDomain);
      const values: EnrichmentValues = {
        freeMail: !disposable && isFreeMailDomain(lead.emailDomain),
        disposable,
      };
      const seniority = seniorityOf(lead.title);
      if (seniority) values.seniority = seniority;
      const department = departmentOf(lead.title);
      if (department) values.department = department;
      // Keyword rules read titles well but not perfectly; domain lists are exact lookups.
      return { values, confidence: { seniority: 0.8, department: 0.7 } };
    },
  };
}
