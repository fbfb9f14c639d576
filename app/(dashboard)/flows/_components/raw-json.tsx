"use client";

import { useMemo } from "react";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { CopyButton } from "./copy-button";

/** The flow as hubble prints it (`hubble observe -o jsonpb`: a GetFlowsResponse), pretty-printed. */
export function RawJson({ item }: { item: FlowItem }) {
  const text = useMemo(
    () => JSON.stringify({ flow: item.flow, node_name: item.node_name, time: item.time }, null, 2),
    [item],
  );
  return (
    <section className="drawer-section">
      <div className="section-head">
        <h3>Raw hubble JSON</h3>
        <CopyButton text={text} label="Copy JSON" testId="drawer-copy-json" />
      </div>
      <pre className="raw-json mono" data-testid="drawer-raw-json">
        {text}
      </pre>
    </section>
  );
}
