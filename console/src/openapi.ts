/**
 * What the server offers, read from its OpenAPI document (/openapi.json, fetched once): the console shows
 * only the statuses, actions and filters the server it talks to accepts.
 */

interface Operation {
  parameters?: Array<{ name?: string; in?: string; schema?: { enum?: string[] } }>;
  requestBody?: {
    content?: Record<string, { schema?: { properties?: Record<string, { enum?: string[] }> } }>;
  };
}
interface OpenApiDoc {
  paths?: Record<string, { get?: Operation; post?: Operation }>;
}

let doc: Promise<OpenApiDoc> | undefined;
function openApi(): Promise<OpenApiDoc> {
  doc ??= fetch("/openapi.json")
    .then((r) => r.json() as Promise<OpenApiDoc>)
    .catch(() => ({}));
  return doc;
}

/** The values a query parameter of a GET route accepts; `fallback` when the document does not list them. */
export async function queryChoices(path: string, name: string, fallback: string[]): Promise<string[]> {
  const op = (await openApi()).paths?.[path]?.get;
  return op?.parameters?.find((p) => p.in === "query" && p.name === name)?.schema?.enum ?? fallback;
}

/** The values a JSON body field of a POST route accepts; none when the route does not exist. */
export async function bodyChoices(path: string, field: string): Promise<string[]> {
  const op = (await openApi()).paths?.[path]?.post;
  return op?.requestBody?.content?.["application/json"]?.schema?.properties?.[field]?.enum ?? [];
}
