/**
 * The one place the gRPC API decides who may call it and what they may see. Every handler calls
 * `authorize(call)` before it reads anything; its answer (a scope) narrows what is read.
 *
 * TLS/mTLS is the transport's job (grpc-server.ts: with FLOWLENS_GRPC_TLS_CLIENT_CA_FILES a client
 * without a certificate signed by those CAs never reaches a handler). `tokenAuthorize` adds the
 * HTTP API's identities (server/auth/grpc-auth.ts): an API token as metadata
 * `authorization: Bearer …`, or the verified client certificate's CN mapped by `certificates:` in
 * FLOWLENS_AUTH_CONFIG; with sign-in off every caller sees everything, as on HTTP.
 */
import * as grpc from "@grpc/grpc-js";
import { AccessError } from "./grpc-errors";
import type { PeerCertificate } from "node:tls";
import type { FlowFilterSet, FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";

export type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

export interface CallScope {
  /** namespaces the caller may see (a flow is visible when its source or destination is in one); undefined = all */
  namespaces?: string[];
}

export type Authorize = (call: AnyCall) => CallScope | Promise<CallScope>;

/** No access control beyond the transport's (mTLS when configured). */
export const allowAll: Authorize = () => ({});

/** The client certificate of an mTLS call, if any (for an identity check). */
export function peerCertificate(call: AnyCall): PeerCertificate | undefined {
  return call.getAuthContext().sslPeerCertificate;
}

/**
 * A filter set narrowed to the scope: every whitelist filter carries the caller's namespace scope,
 * which the one matcher applies (source or destination namespace allowed; patterns as in
 * FLOWLENS_AUTH_CONFIG), as for /api/flows and /api/live.
 */
export function scopeFilters(set: FlowFilterSet, scope: CallScope): FlowFilterSet {
  const allowed = scope.namespaces;
  if (!allowed) return set;
  const whitelist = (set.whitelist.length ? set.whitelist : [{}]).map((spec): FlowFilterSpec => ({ ...spec, scope: [...allowed] }));
  return { whitelist, blacklist: set.blacklist };
}

/** The API tokens and certificate identities of the HTTP API, for the gRPC server. */
export function tokenAuthorize(check: (creds: { authorization?: string; certificateCommonName?: string }) => Promise<{ ok: true; scope: string[] | undefined } | { ok: false; code: 7 | 16; error: string }>): Authorize {
  return async (call) => {
    const auth = call.metadata.get("authorization")[0];
    const cn = peerCertificate(call)?.subject?.CN;
    const who = await check({ authorization: typeof auth === "string" ? auth : undefined, certificateCommonName: Array.isArray(cn) ? cn[0] : cn });
    if (!who.ok) throw new AccessError(who.code === 16 ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED, who.error);
    return { namespaces: who.scope };
  };
}
