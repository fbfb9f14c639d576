/**
 * Real recorded Hubble flows (shared/data/hubble-otel, from cilium/hubble-otel's testdata) mixed
 * into the demo: each file is replayed re-timed to "now", keeping its flows' order and spacing and
 * everything else verbatim (they have no uuid: the ingest keys them by hash). Dense files come
 * out as short bursts; between files the replay pauses so the long-run rate stays at or below
 * `ratePerSec` (sparse files, like the ICMP one, play at their own slower pace): about 2/s.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { clone, fromJsonString } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { nsToTimestamp, timestampToNs } from "@/server/hubble/relay-server-ring";
import { msToNs } from "./demo-flow-builder";

export interface RecordedFile {
  name: string;
  /** in file order (which is time order) */
  responses: GetFlowsResponse[];
  firstNs: bigint;
  lastNs: bigint;
}

/** FLOWLENS_SAMPLE_DIR, else <repo>/../shared/data/hubble-otel (repo found from this file or cwd). */
export function recordedFlowsDir(): string {
  if (process.env.FLOWLENS_SAMPLE_DIR) return path.resolve(process.env.FLOWLENS_SAMPLE_DIR);
  const candidates = [path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."), process.cwd()].map((root) =>
    path.resolve(root, "../shared/data/hubble-otel"),
  );
  return candidates.find((d) => fs.existsSync(/* turbopackIgnore: true */ d)) ?? candidates[0];
}

/** Loads every *.json file (one GetFlowsResponse per line); lines seen in an earlier file are skipped. */
export function loadRecordedFiles(dir = recordedFlowsDir(), log: (msg: string) => void = console.log): RecordedFile[] {
  if (!fs.existsSync(/* turbopackIgnore: true */ dir)) {
    log(`demo: no recorded flows at ${dir} (set FLOWLENS_SAMPLE_DIR); continuing without them`);
    return [];
  }
  const seen = new Set<string>();
  const files: RecordedFile[] = [];
  for (const name of fs.readdirSync(/* turbopackIgnore: true */ dir).filter((f) => f.endsWith(".json")).sort()) {
    const responses: GetFlowsResponse[] = [];
    for (const line of fs.readFileSync(/* turbopackIgnore: true */ path.join(dir, name), "utf8").split("\n")) {
      const text = line.trim();
      if (!text || seen.has(text)) continue;
      seen.add(text);
      try {
        const resp = fromJsonString(GetFlowsResponseSchema, text);
        if (timeNs(resp) !== undefined) responses.push(resp);
      } catch (err) {
        log(`demo: skipping a line of ${name}: ${(err as Error).message}`);
      }
    }
    if (responses.length === 0) continue;
    files.push({ name, responses, firstNs: timeNs(responses[0])!, lastNs: timeNs(responses[responses.length - 1])! });
  }
  return files;
}

function timeNs(r: GetFlowsResponse): bigint | undefined {
  const flowTime = r.responseTypes.case === "flow" ? r.responseTypes.value.time : undefined;
  return timestampToNs(r.time) ?? timestampToNs(flowTime);
}

/** A copy shifted by `deltaNs`; only the timestamps change. */
function retime(r: GetFlowsResponse, deltaNs: bigint): GetFlowsResponse {
  const copy = clone(GetFlowsResponseSchema, r);
  if (copy.time) copy.time = nsToTimestamp(timestampToNs(copy.time)! + deltaNs);
  if (copy.responseTypes.case === "flow" && copy.responseTypes.value.time) {
    copy.responseTypes.value.time = nsToTimestamp(timestampToNs(copy.responseTypes.value.time)! + deltaNs);
  }
  return copy;
}

export class RecordedReplay {
  private fileIndex = 0;
  private lineIndex = 0;
  private segmentStartNs: bigint;
  private readonly gapNs: bigint;

  constructor(
    private readonly files: RecordedFile[],
    startMs: number,
    private readonly ratePerSec = 3,
  ) {
    this.segmentStartNs = msToNs(startMs);
    this.gapNs = 1_000_000_000n;
  }

  get empty(): boolean {
    return this.files.length === 0;
  }

  /** Re-timed responses with time < toMs, in order; call with increasing toMs. */
  until(toMs: number): GetFlowsResponse[] {
    const out: GetFlowsResponse[] = [];
    if (this.files.length === 0 || this.ratePerSec <= 0) return out;
    const toNs = msToNs(toMs);
    for (;;) {
      const file = this.files[this.fileIndex];
      const delta = this.segmentStartNs - file.firstNs;
      while (this.lineIndex < file.responses.length) {
        const r = file.responses[this.lineIndex];
        if (timeNs(r)! + delta >= toNs) return out;
        out.push(retime(r, delta));
        this.lineIndex++;
      }
      // next file: after this one has played out, and late enough to keep the average rate
      const playedNs = file.lastNs - file.firstNs + this.gapNs;
      const budgetNs = BigInt(Math.round((file.responses.length / this.ratePerSec) * 1e9));
      this.segmentStartNs += playedNs > budgetNs ? playedNs : budgetNs;
      this.fileIndex = (this.fileIndex + 1) % this.files.length;
      this.lineIndex = 0;
    }
  }
}
