/** Makes the LeadService and the parsed environment available to routes: the host's only way into the app. */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { LeadService } from "../app/lead-service.ts";
import type { Env } from "../config/env.ts";

declare module "fastify" {
  interface FastifyInstance {
    leads: LeadService;
    env: Env;
  }
}

export interface ServicePluginOptions {
  service: LeadService;
  env: Env;
}

async function servicePlugin(app: FastifyInstance, options: ServicePluginOptions): Promise<void> {
  app.decorate("leads", options.service);
  app.decorate("env", options.env);
}

export default fp(servicePlugin, { name: "leadgraph-service", fastify: "5.x" });
