/**
 * Folds free text into a lookup key: diacritics removed, lower case, punctuation dropped,
 * so "Côte d'Ivoire", "COTE D’IVOIRE" and "cote divoire" meet in one table entry.
 */
export function foldKey(input: string): string {
  return (
    input
      .normalize("NFD")
      // Only the Latin/Greek/Cyrillic combining block: marks in other scripts carry meaning.
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/ß/g, "ss")
      .replace(/[.'’`]/g, "")
      .replace(/&/g, " and ")
      .replace(/[^\p{L}\p{N}\p{M}]+/gu, " ")
      .trim()
  );
}
