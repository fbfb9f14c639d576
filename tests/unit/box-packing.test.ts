/** The map's namespace boxes: packed without overlap, the namespaces that talk most side by side. */
import { describe, expect, it } from "vitest";
import { affinityOrder, packRows, type BoxSize } from "@/app/lib/box-packing";

function overlaps(a: BoxSize & { x: number; y: number }, b: BoxSize & { x: number; y: number }): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

describe("affinityOrder", () => {
  it("starts at the hub and keeps talking pairs adjacent", () => {
    const edges: Record<string, number> = { "dns|a": 5, "dns|b": 5, "dns|c": 5, "a|b": 9, "c|d": 7 };
    const w = (x: string, y: string) => edges[`${x}|${y}`] ?? edges[`${y}|${x}`] ?? 0;
    const order = affinityOrder(["a", "b", "c", "d", "dns"], w, 1);
    expect(order[0]).toBe("dns");
    expect(Math.abs(order.indexOf("a") - order.indexOf("b"))).toBe(1);
    expect(Math.abs(order.indexOf("c") - order.indexOf("d"))).toBe(1);
    expect(affinityOrder(["y", "x"], () => 0)).toEqual(["x", "y"]);
  });
});

describe("packRows", () => {
  it("never overlaps boxes, whatever their sizes, and keeps the gap", () => {
    const boxes = Array.from({ length: 40 }, (_, i) => ({ id: `b${i}`, w: 120 * (1 + (i % 5)), h: 120 * (1 + ((i * 7) % 4)) }));
    const at = packRows(boxes, 240);
    const placed = boxes.map((b) => ({ ...b, ...at.get(b.id)! }));
    for (let i = 0; i < placed.length; i++)
      for (let j = i + 1; j < placed.length; j++) {
        const grown = { ...placed[i], x: placed[i].x - 239, y: placed[i].y - 239, w: placed[i].w + 478, h: placed[i].h + 478 };
        expect(overlaps(grown, placed[j]), `${placed[i].id} / ${placed[j].id}`).toBe(false);
      }
  });

  it("runs every other row back, so consecutive boxes stay close", () => {
    const boxes = Array.from({ length: 6 }, (_, i) => ({ id: `b${i}`, w: 100, h: 100 }));
    const at = packRows(boxes, 0, 1.5);
    // rows of three, the second right to left: b3 sits under b2
    expect(at.get("b2")!.x).toBe(at.get("b3")!.x);
    expect(at.get("b3")!.y).toBeGreaterThan(at.get("b2")!.y);
  });
});
