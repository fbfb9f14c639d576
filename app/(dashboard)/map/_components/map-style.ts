/**
 * cytoscape stylesheet for the map. Colours come from the page's CSS variables (dark and light
 * schemes) and are read once when the instance is made. Edge colour = verdict state, width =
 * log-scaled volume (`weight` 0..1 set by graph-sync), label = ports; labels hide when zoomed out
 * because at 1,000 nodes they are unreadable and cost the most paint time. Collapsed namespaces
 * (`agg` nodes) and their aggregated edges are drawn at the scale of a whole namespace's box, so
 * they read when the map is fitted to the cluster.
 */
import type { StylesheetJson } from "cytoscape";

export interface MapColours {
  text: string;
  muted: string;
  border: string;
  bg: string;
  elev: string;
  ok: string;
  bad: string;
  warn: string;
  info: string;
  accent: string;
}

export function readColours(el: Element): MapColours {
  const cs = getComputedStyle(el);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  return {
    text: v("--text", "#d8dee6"),
    muted: v("--muted", "#8893a0"),
    border: v("--border-strong", "#3a4350"),
    bg: v("--bg", "#0f1216"),
    elev: v("--bg-elev", "#161a20"),
    ok: v("--ok", "#3fb950"),
    bad: v("--bad", "#f85149"),
    warn: v("--warn", "#d29922"),
    info: v("--info", "#58a6ff"),
    accent: v("--accent", "#bc8cff"),
  };
}

export function mapStyle(c: MapColours, big: boolean): StylesheetJson {
  return [
    {
      selector: "node",
      style: {
        label: "data(label)",
        color: c.text,
        "font-size": 11,
        "min-zoomed-font-size": 7,
        "text-valign": "bottom",
        "text-margin-y": 4,
        "text-max-width": "120px",
        "text-wrap": "ellipsis",
        width: 26,
        height: 26,
        "background-color": c.info,
        "border-width": 1,
        "border-color": c.bg,
        shape: "round-rectangle",
      },
    },
    { selector: "node[kind = 'fqdn']", style: { shape: "diamond", "background-color": c.accent } },
    { selector: "node[kind = 'cidr'], node[kind = 'world']", style: { shape: "hexagon", "background-color": c.accent } },
    {
      selector: "node[kind = 'host'], node[kind = 'remote-node'], node[kind = 'kube-apiserver'], node[kind = 'health'], node[kind = 'unmanaged'], node[kind = 'ingress'], node[kind = 'init'], node[kind = 'unknown']",
      style: { shape: "triangle", "background-color": c.muted },
    },
    {
      selector: ":parent",
      style: {
        shape: "round-rectangle",
        "background-color": c.elev,
        "background-opacity": 0.6,
        "border-color": c.border,
        "border-width": 1,
        label: "data(label)",
        "text-valign": "top",
        "text-halign": "center",
        "text-margin-y": -4,
        "font-size": 12,
        "font-weight": "bold",
        color: c.muted,
        padding: "14px",
      },
    },
    {
      selector: "edge",
      style: {
        width: "mapData(weight, 0, 1, 1, 7)",
        "line-color": c.ok,
        "target-arrow-color": c.ok,
        "target-arrow-shape": big ? "none" : "triangle",
        "arrow-scale": 0.8,
        "curve-style": big ? "haystack" : "bezier",
        opacity: 0.75,
        label: big ? "" : "data(ports)",
        "font-size": 9,
        "min-zoomed-font-size": 9,
        color: c.muted,
        "text-rotation": "autorotate",
        "text-background-color": c.bg,
        "text-background-opacity": 0.7,
        "text-background-padding": "1px",
      },
    },
    {
      selector: "node[?agg]",
      style: {
        shape: "round-rectangle",
        width: "data(w)",
        height: "data(h)",
        "background-color": c.elev,
        "border-color": c.info,
        "border-width": 3,
        "text-valign": "center",
        "text-halign": "center",
        "text-margin-y": 0,
        "text-wrap": "wrap",
        "text-max-width": "data(w)",
        "font-size": "data(fs)",
        "min-zoomed-font-size": 6,
        "font-weight": "bold",
      },
    },
    { selector: "node[?agg][?dropping]", style: { "border-color": c.bad } },
    // aggregated edges: labelled only when selected — measuring ~1,000 labels doubled the
    // namespace view's first frame (bench:map) and the side panel lists their ports anyway
    {
      selector: "edge[?agg]",
      style: { width: "mapData(weight, 0, 1, 4, 28)", "arrow-scale": 1.6, label: "", "font-size": 28, "min-zoomed-font-size": 9 },
    },
    { selector: "edge[?agg]:selected", style: { label: "data(ports)" } },
    { selector: "edge[state = 'mixed']", style: { "line-color": c.warn, "target-arrow-color": c.warn, "line-style": "dashed" } },
    { selector: "edge[state = 'dropped']", style: { "line-color": c.bad, "target-arrow-color": c.bad, opacity: 0.95 } },
    { selector: ".dim", style: { opacity: 0.12 } },
    { selector: "node.match", style: { "border-width": 3, "border-color": c.warn } },
    { selector: ":selected", style: { "overlay-color": c.info, "overlay-opacity": 0.25, "overlay-padding": 4 } },
  ];
}
