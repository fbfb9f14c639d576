"use client";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { retryUnlessBadRequest } from "@/app/lib/api-client";

/** One QueryClient per browser tab (created in state so server renders never share one). */
export function Providers({ children }: { children: ReactNode }) {
  const [client] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            retry: retryUnlessBadRequest,
            // Flow pages are history: refetching them on focus would re-read thousands of rows.
            refetchOnWindowFocus: false,
            staleTime: 5_000,
          },
        },
      }),
  );
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}
