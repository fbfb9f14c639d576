/** Errors of the gRPC API as gRPC statuses: a bad request field is INVALID_ARGUMENT naming it. */
import * as grpc from "@grpc/grpc-js";
import { InputError } from "@/server/db/input-error";
import { QueryCancelledError, QueryTimeoutError } from "@/server/db/query-errors";
import { isTransientStoreError } from "@/server/db/store-errors";
import { logger } from "@/server/log";
import { RequestFieldError } from "./grpc-filter";

/** Refused by the access check (grpc-auth.ts). */
export class AccessError extends Error {
  constructor(
    readonly code: grpc.status.UNAUTHENTICATED | grpc.status.PERMISSION_DENIED,
    message: string,
  ) {
    super(message);
  }
}

export function serviceError(code: grpc.status, details: string): Partial<grpc.StatusObject> & Error {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

export function toServiceError(e: unknown): Partial<grpc.StatusObject> & Error {
  if (e instanceof RequestFieldError) return serviceError(grpc.status.INVALID_ARGUMENT, e.message);
  if (e instanceof InputError) return serviceError(grpc.status.INVALID_ARGUMENT, e.message);
  if (e instanceof AccessError) return serviceError(e.code, e.message);
  if (e instanceof QueryTimeoutError) return serviceError(grpc.status.DEADLINE_EXCEEDED, e.message);
  if (e instanceof QueryCancelledError) return serviceError(grpc.status.CANCELLED, e.message);
  if (isTransientStoreError(e)) return serviceError(grpc.status.UNAVAILABLE, `the store is not answering: ${String(e)}`);
  logger().error({ err: String(e) }, "gRPC request failed");
  return serviceError(grpc.status.INTERNAL, String(e));
}
