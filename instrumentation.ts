export async function register() {
  // the file is also compiled for the Edge runtime: keep Node APIs inside this check
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { getRuntime, installSignalHandlers } = await import("./server/runtime");
    const { installHttpMetrics } = await import("./server/http-metrics");
    installSignalHandlers();
    installHttpMetrics();
    await getRuntime().catch(() => {
      // logged by getRuntime; routes retry and report the error
    });
  }
}
