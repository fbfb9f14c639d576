// Where `npm start` listens (docs/security.md). Without sign-in configured, only on 127.0.0.1:
// flows show every workload's connections, so an unprotected Flowlens must not be reachable from
// the network by accident. Another address needs sign-in (FLOWLENS_OIDC_ISSUER or FLOWLENS_AUTH=on)
// or an explicit FLOWLENS_AUTH=off, which is then warned about at every start.

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** @returns {{ host: string, auth: "local" | "off" | "on", warning?: string } | { error: string }} */
export function bindAddress(env) {
  const host = (env.HOST ?? "").trim();
  const flag = (env.FLOWLENS_AUTH ?? "").trim();
  if (flag !== "" && flag !== "on" && flag !== "off") return { error: `FLOWLENS_AUTH: expected "on", "off" or nothing, got ${JSON.stringify(flag)}` };
  const auth = flag === "off" ? "off" : flag === "on" || (env.FLOWLENS_OIDC_ISSUER ?? "").trim() ? "on" : "local";
  if (auth === "local") {
    if (host && !LOOPBACK.has(host)) {
      return {
        error:
          `HOST=${host}: no sign-in is configured, so Flowlens listens on 127.0.0.1 only. ` +
          "Set FLOWLENS_OIDC_ISSUER (and FLOWLENS_OIDC_CLIENT_ID, FLOWLENS_PUBLIC_URL, FLOWLENS_AUTH_CONFIG) to require sign-in, " +
          "or FLOWLENS_AUTH=off to serve every flow to anyone who can reach it (docs/security.md).",
      };
    }
    return { host: host || "127.0.0.1", auth };
  }
  const bound = host || "0.0.0.0";
  if (auth === "off") {
    return { host: bound, auth, warning: `FLOWLENS_AUTH=off: no sign-in; anyone who can reach ${bound} sees every flow` };
  }
  return { host: bound, auth };
}
