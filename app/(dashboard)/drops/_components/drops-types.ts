/** What /api/drops answers (format=json). */
import type { DropGroup } from "@/server/domain/drops/drop-group";
import type { DropWhy } from "@/server/domain/drops/drop-why";
import type { DropTimeline } from "@/server/db/drops/drops-repo";

export type DropGroupView = DropGroup & { why: DropWhy; flows: string };

export interface DropsResponse {
  filter: string;
  total: number;
  groupCount: number;
  groups: DropGroupView[];
  timeline: DropTimeline;
}
