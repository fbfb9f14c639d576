/**
 * The one place the gRPC API decides who may call it and what they may see. Every handler calls
 * `authorize(call)` before it reads anything; its answer (a scope) narrows what is read.
 *
 * Today: TLS/mTLS is the transport's job (grpc-server.ts: with FLOWLENS_GRPC_TLS_CLIENT_CA_FILES a
 * client without a certificate signed by those CAs never reaches a handler) and every caller sees
 * everything. Sign-in / API tokens plug in here: read `call.metadata.get("authorization")` (the
 * hubble CLI has no token flag; other clients send `authorization: Bearer …`) and the peer
 * certificate (`peerCertificate(call)`), throw AccessError(UNAUTHENTICATED | PERMISSION_DENIED),
 * and return the caller's namespaces.
 */
import type * as grpc from "@grpc/grpc-js";
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

/** A filter set narrowed to the scope's namespaces (every whitelist filter ANDs them in). */
export function scopeFilters(set: FlowFilterSet, scope: CallScope): FlowFilterSet {
  const allowed = scope.namespaces;
  if (!allowed) return set;
  const narrow = (spec: FlowFilterSpec): FlowFilterSpec => ({
    ...spec,
    // a filter that names namespaces itself keeps those the caller may see
    namespace: spec.namespace ? spec.namespace.filter((n) => allowed.includes(n)) : [...allowed],
  });
  const whitelist = (set.whitelist.length ? set.whitelist : [{}]).map(narrow);
  return { whitelist, blacklist: set.blacklist };
}
