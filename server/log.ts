import pino from "pino";

const KEY = Symbol.for("flowlens.logger");
type G = typeof globalThis & { [KEY]?: pino.Logger };

/** One pino logger per process (Next evaluates modules several times; see notes/next-runtime.md). */
export function logger(): pino.Logger {
  const g = globalThis as G;
  return (g[KEY] ??= pino({ level: process.env.LOG_LEVEL ?? "info", base: undefined }));
}
