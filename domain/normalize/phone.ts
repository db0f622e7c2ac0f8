// The package's core, as country.ts loads it (without every locale: only codes are read here).
import countries from "i18n-iso-countries/index.js";
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/max";

/**
 * E.164 form of a phone number. National numbers ("(415) 555-0132") are read in the lead's
 * country; "max" metadata so validity means a real number range, not just a plausible length.
 * Undefined when the number cannot be parsed or is not a valid number.
 */
export function toE164(input: string, country: string | undefined): string | undefined {
  const region = country && countries.isValid(country) ? (country as CountryCode) : undefined;
  try {
    const parsed = parsePhoneNumberFromString(input, region);
    return parsed?.isValid() ? parsed.number : undefined;
  } catch {
    // The parser throws on some inputs (e.g. absurd lengths) instead of returning undefined.
    return undefined;
  }
}
