import { getRuntime, type Runtime } from "@/server/runtime";
import { unavailable } from "./responses";

/** The process runtime for a route handler, or the 503 to answer when the store could not start. */
export async function runtimeOrUnavailable(): Promise<Runtime | Response> {
  try {
    return await getRuntime();
  } catch (e) {
    return unavailable(e, "the flow store is not available");
  }
}
