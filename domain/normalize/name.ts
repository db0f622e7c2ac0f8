export interface PersonName {
  firstName?: string;
  lastName?: string;
  fullName?: string;
}

function splitFullName(fullName: string): { firstName?: string; lastName?: string; sortOrder: boolean } {
  const comma = fullName.indexOf(",");
  if (comma > 0) {
    const lastName = fullName.slice(0, comma).trim();
    const firstName = fullName.slice(comma + 1).trim();
    return { firstName: firstName || undefined, lastName: lastName || undefined, sortOrder: true };
  }
  const space = fullName.indexOf(" ");
  if (space < 0) return { firstName: fullName, sortOrder: false };
  return { firstName: fullName.slice(0, space), lastName: fullName.slice(space + 1), sortOrder: false };
}

/**
 * Completes a name from whatever parts were given: a full name is split at its first space
 * ("Mary Ann Smith" would need a census to split right, so first token vs. the rest), or at the
 * comma of "Smith, Mary"; first and last are joined into the full name. Given parts always win.
 */
export function completeName(given: PersonName): PersonName {
  let { firstName, lastName } = given;
  let fullName = given.fullName?.replace(/\s+/g, " ");
  if (fullName && firstName === undefined && lastName === undefined) {
    const split = splitFullName(fullName);
    firstName = split.firstName;
    lastName = split.lastName;
    // "Smith, Mary" is a sort order, not how the person is addressed.
    if (split.sortOrder) fullName = undefined;
  }
  const joined = [firstName, lastName].filter((p) => p !== undefined).join(" ");
  const result: PersonName = {};
  if (firstName !== undefined) result.firstName = firstName;
  if (lastName !== undefined) result.lastName = lastName;
  const full = fullName ?? (joined === "" ? undefined : joined);
  if (full !== undefined) result.fullName = full;
  return result;
}
