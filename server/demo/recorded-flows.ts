/**
 * Real recorded Hubble flows (samples/hubble-otel in this repository, from cilium/hubble-otel's
 * testdata; license in its NOTICE.md) mixed into the demo: each file is replayed re-timed to "now",
 * keeping its flows' order and spacing and everything else verbatim (they have no uuid: the ingest
 * keys them by hash). Dense files come out as short bursts; between files the replay pauses so the
 * long-run rate stays at or below `ratePerSec` (sparse files, like the ICMP one, play at their own
 * slower pace): about 2/s.
 *
 * This is the one reader of those files: the tests read them through `readRecordedLines` too.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { clone, fromJsonString } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { nsToTimestamp, timestampToNs } from "@/server/flow-codec/timestamp";
import { msToNs } from "./demo-flow-builder";
import { NS_PER_S } from "@/server/domain/shared/time";

/** Where the samples live inside the repository. */
export const RECORDED_FLOWS_SUBDIR = path.join("samples", "hubble-otel");

export interface RecordedFile {
  name: string;
  /** in file order (which is time order) */
  responses: GetFlowsResponse[];
  firstNs: bigint;
  lastNs: bigint;
}

export interface RecordedLine {
  file: string;
  /** 0-based line number among the file's non-empty lines */
  index: number;
  /** one GetFlowsResponse in hubble's JSON form, trimmed */
  text: string;
}

/**
 * FLOWLENS_SAMPLE_DIR, else <repo>/samples/hubble-otel. The repository is found from this file
 * (tsx, vitest) or, inside a Next.js bundle where this file's URL points into .next, from the
 * working directory (`npm start` runs in the repository).
 */
export function recordedFlowsDir(): string {
  if (process.env.FLOWLENS_SAMPLE_DIR) return path.resolve(process.env.FLOWLENS_SAMPLE_DIR);
  const candidates = [path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."), process.cwd()].map((root) =>
    path.resolve(root, RECORDED_FLOWS_SUBDIR),
  );
  return candidates.find((d) => fs.existsSync(/* turbopackIgnore: true */ d)) ?? candidates[0];
}

/** The *.json files of `dir`, sorted by name. Throws when the directory is missing. */
export function recordedFileNames(dir = recordedFlowsDir()): string[] {
  return fs
    .readdirSync(/* turbopackIgnore: true */ dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
}

/** Every non-empty line of one file, or of all files in name order; repeats kept. Throws when missing. */
export function readRecordedLines(dir = recordedFlowsDir(), file?: string): RecordedLine[] {
  const names = file ? [file] : recordedFileNames(dir);
  return names.flatMap((name) =>
    fs
      .readFileSync(/* turbopackIgnore: true */ path.join(dir, name), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l)
      .map((text, index) => ({ file: name, index, text })),
  );
}

/** Loads every *.json file (one GetFlowsResponse per line); lines seen in an earlier file are skipped. */
export function loadRecordedFiles(dir = recordedFlowsDir(), log: (msg: string) => void = console.log): RecordedFile[] {
  if (!fs.existsSync(/* turbopackIgnore: true */ dir)) {
    log(`demo: no recorded flows at ${dir} (set FLOWLENS_SAMPLE_DIR); continuing without them`);
    return [];
  }
  const seen = new Set<string>();
  const byFile = new Map<string, GetFlowsResponse[]>();
  for (const { file, text } of readRecordedLines(dir)) {
    if (seen.has(text)) continue;
    seen.add(text);
    try {
      const resp = fromJsonString(GetFlowsResponseSchema, text);
      if (timeNs(resp) === undefined) continue;
      const list = byFile.get(file) ?? [];
      list.push(resp);
      byFile.set(file, list);
    } catch (err) {
      log(`demo: skipping a line of ${file}: ${(err as Error).message}`);
    }
  }
  return [...byFile].map(([name, responses]) => ({
    name,
    responses,
    firstNs: timeNs(responses[0])!,
    lastNs: timeNs(responses[responses.length - 1])!,
  }));
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
    this.gapNs = NS_PER_S;
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
