import { pendingMigrations } from "@/server/db/migrate";
import { describeStoreError } from "@/server/db/store-errors";
import { noStore } from "@/server/http/responses";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

/** a probe's answer comes within this, whatever the store does */
const CHECK_TIMEOUT_MS = 2000;

const notReady = (reason: string) => Response.json({ ready: false, reason }, { status: 503, headers: noStore() });

/** Readiness: the store answers and has every migration this build knows (503 with the reason otherwise). */
export async function GET(): Promise<Response> {
  let rt;
  try {
    rt = await getRuntime();
  } catch (e) {
    return notReady(`flowlens could not start: ${describeStoreError(e)}`);
  }
  try {
    const pending = await pendingMigrations(rt.db, AbortSignal.timeout(CHECK_TIMEOUT_MS));
    if (pending.length) return notReady(`migrations not applied: ${pending.join(", ")}`);
  } catch (e) {
    return notReady(`the store does not answer: ${describeStoreError(e)}`);
  }
  return Response.json({ ready: true, role: rt.role, storage: rt.db.kind }, { headers: noStore() });
}
