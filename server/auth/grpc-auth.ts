/**
 * The authorization hook for Flowlens' gRPC Observer server (server/hubble/…): the same API tokens
 * as HTTP, sent as call metadata `authorization: Bearer <token>`, or a verified mTLS client
 * certificate mapped to an identity by `certificates:` in FLOWLENS_AUTH_CONFIG. The answer's
 * `scope` goes into the server's FlowFilterSpec (`scope`), so the one matcher (flow-match.ts)
 * decides what the stream may carry, as for /api/flows and /api/live.
 *
 *   const who = await grpcAuthorize(db, { authorization: md.get("authorization")[0], certificateCommonName });
 *   if (!who.ok) → call.destroy({ code: who.code, details: who.error })   // UNAUTHENTICATED / PERMISSION_DENIED
 *   else filter = who.scope === undefined ? filter : { ...filter, scope: who.scope }
 */
import type { Database } from "@/server/db/connection";
import { grantsForCertificate } from "@/server/domain/auth/access-config";
import { LOCAL_CALLER, scopeFor, type Capability, type Caller } from "@/server/domain/auth/roles";
import { authSettings } from "./auth-settings";
import { callerFromBearer } from "./identify";

/** grpc-js status codes (kept numeric: this module does not depend on grpc-js) */
export const GRPC_UNAUTHENTICATED = 16;
export const GRPC_PERMISSION_DENIED = 7;

export type GrpcAccess = { ok: true; caller: Caller; scope: string[] | undefined } | { ok: false; code: 7 | 16; error: string };

export interface GrpcCredentials {
  /** the `authorization` metadata value, if any */
  authorization?: string;
  /** the subject CN of the client certificate, when the TLS layer verified one */
  certificateCommonName?: string;
}

export async function grpcAuthorize(db: Database, creds: GrpcCredentials, cap: Capability = "view"): Promise<GrpcAccess> {
  const settings = authSettings();
  let caller: Caller;
  if (settings.mode !== "on") caller = LOCAL_CALLER;
  else if (creds.authorization) {
    const who = await callerFromBearer(db, creds.authorization, { via: "grpc" });
    if (!who.ok) return { ok: false, code: GRPC_UNAUTHENTICATED, error: who.error };
    caller = who.caller;
  } else if (creds.certificateCommonName && settings.access) {
    const grants = grantsForCertificate(settings.access, creds.certificateCommonName);
    if (!grants.length) return { ok: false, code: GRPC_PERMISSION_DENIED, error: `no certificates rule in FLOWLENS_AUTH_CONFIG for CN=${creds.certificateCommonName}` };
    caller = { kind: "token", name: `cert:${creds.certificateCommonName}`, grants };
  } else {
    return { ok: false, code: GRPC_UNAUTHENTICATED, error: "send an API token as metadata authorization: Bearer <token>, or a client certificate" };
  }
  const scope = scopeFor(caller, cap);
  if (scope === "forbidden") return { ok: false, code: GRPC_PERMISSION_DENIED, error: `${caller.name} may not do this` };
  return { ok: true, caller, scope: scope ?? undefined };
}
