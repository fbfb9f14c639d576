import { metrics } from "@/server/metrics";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  await getRuntime().catch(() => {}); // metrics are served even when the store failed to start
  const m = metrics();
  return new Response(await m.registry.metrics(), { headers: { "Content-Type": m.registry.contentType, "Cache-Control": "no-store" } });
}
