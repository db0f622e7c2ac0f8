/** Makes the runtime (store, queue, runner, graph deps) and the parsed environment available to routes. */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { LeadRuntime } from "../app/runtime.ts";
import type { Env } from "../config/env.ts";

declare module "fastify" {
  interface FastifyInstance {
    runtime: LeadRuntime;
    env: Env;
  }
}

export interface RuntimePluginOptions {
  runtime: LeadRuntime;
  env: Env;
}

async function runtimePlugin(app: FastifyInstance, options: RuntimePluginOptions): Promise<void> {
  app.decorate("runtime", options.runtime);
  app.decorate("env", options.env);
}

export default fp(runtimePlugin, { name: "leadgraph-runtime", fastify: "5.x" });
