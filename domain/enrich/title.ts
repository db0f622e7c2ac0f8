import type { Seniority } from "../types.ts";

/** Whole-word, case-insensitive; letters with accents count as word characters ("Geschäftsführerin" ≠ "Geschäftsführer"). */
function words(pattern: string, flags = "iu"): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${pattern})(?![\\p{L}\\p{N}])`, flags);
}

// The README's table, in its order: the first level whose pattern matches wins.
const SENIORITY: Array<[Seniority, RegExp]> = [
  [
    "c-level",
    words(
      [
        "ceo|cto|cfo|coo|cio|cmo|cro|ciso",
        "chief\\s+\\S+",
        "(?:co[-\\s]?)?founder",
        // A business owner, not a "Product Owner" or "Account Owner" role.
        "(?<!(?:product|process|account|project|data|service)\\s)owner",
        // "Vice President" is a vp, not a president.
        "(?<!vice[-\\s]?)president",
        "managing\\s+director",
        "gesch(?:ä|ae)ftsf(?:ü|ue)hrer(?:in)?",
      ].join("|"),
    ),
  ],
  ["vp", words("vp|svp|evp|vice[-\\s]?president")],
  ["director", words("director|head\\s+of")],
  ["manager", words("manager|team\\s+lead(?:er)?|lead\\s+\\S+|supervisor")],
];

/** Seniority per the README rules; undefined without a title. */
export function seniorityOf(title: string | undefined): Seniority | undefined {
  if (title === undefined || title.trim() === "") return undefined;
  for (const [level, pattern] of SENIORITY) if (pattern.test(title)) return level;
  return "individual";
}

// Functional words before the executive catch-all, so "VP of Sales" is sales and "Founder & CTO"
// is engineering; revenue operations before sales because "RevOps" is an ops team.
const DEPARTMENTS: Array<[string, RegExp]> = [
  ["operations", words("revops|revenue\\s+operations|sales\\s+operations|marketing\\s+operations")],
  ["it", words("IT", "u")],
  [
    "it",
    words(
      "cio|ciso|chief\\s+information|information\\s+technology|information\\s+security|security|infrastructure|sysadmin|system\\s+administrator|network|helpdesk",
    ),
  ],
  [
    "engineering",
    words(
      "cto|chief\\s+technology|technical|engineering|engineer|developer|software|devops|sre|architect|programmer|r&d|qa",
    ),
  ],
  [
    "sales",
    words(
      "cro|chief\\s+revenue|sales|account\\s+executive|account\\s+manager|business\\s+development|bdr|sdr|ae|vertrieb",
    ),
  ],
  ["marketing", words("cmo|marketing|growth|brand|demand\\s+gen(?:eration)?|content|seo|communications|pr")],
  ["finance", words("cfo|finance|financial|accounting|accountant|controller|treasury|fp&a")],
  ["hr", words("chro|hr|human\\s+resources|people|talent|recruiter|recruiting|recruitment")],
  ["product", words("cpo|product|ux|ui")],
  ["operations", words("coo|operations|ops|supply\\s+chain|logistics|procurement")],
  [
    "executive",
    words(
      "ceo|chief\\s+executive|(?:co[-\\s]?)?founder|owner|president|managing\\s+director|gesch(?:ä|ae)ftsf(?:ü|ue)hrer(?:in)?|chief\\s+of\\s+staff|general\\s+manager",
    ),
  ],
];

/** Department from title keywords; "other" for a title without one, undefined without a title. */
export function departmentOf(title: string | undefined): string | undefined {
  if (title === undefined || title.trim() === "") return undefined;
  for (const [department, pattern] of DEPARTMENTS) if (pattern.test(title)) return department;
  return "other";
}
