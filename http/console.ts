/**
 * Serves the web console's built assets (console/dist, committed to the repository, so `npm start` needs no
 * build step; console/README.md says how to rebuild). `/console/assets/*` are content-hashed files cached
 * for a year; every other `/console/...` path is the single page, which routes on the client.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";
import fp from "fastify-plugin";

export const CONSOLE_DIST = fileURLToPath(new URL("../console/dist", import.meta.url));

/** The page may load only its own scripts and styles and talk only to this host. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // Preact sets element styles (chart bar widths) through the style attribute.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

async function consoleAssets(app: FastifyInstance): Promise<void> {
  const indexFile = join(CONSOLE_DIST, "index.html");
  const built = existsSync(indexFile);
  const index = built ? readFileSync(indexFile, "utf8") : undefined;

  if (built)
    await app.register(fastifyStatic, {
      root: join(CONSOLE_DIST, "assets"),
      prefix: "/console/assets/",
      immutable: true,
      maxAge: "365d",
      index: false,
    });

  const page = async (_request: unknown, reply: FastifyReply) => {
    if (index === undefined)
      return reply.code(503).send({
        error: "console_not_built",
        message: "the console's assets are missing: run `npm run build:console`",
      });
    return reply
      .header("content-type", "text/html; charset=utf-8")
      .header("cache-control", "no-cache")
      .header("content-security-policy", CONTENT_SECURITY_POLICY)
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "same-origin")
      .send(index);
  };
  const hide = { schema: { hide: true } };
  app.get("/console", hide, page);
  app.get("/console/", hide, page);
  app.get("/console/*", hide, page);
}

export default fp(consoleAssets, { name: "leadgraph-console", fastify: "5.x" });
