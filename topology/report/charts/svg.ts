/**
 * Renders a Vega-Lite specification to SVG headless (vega's "none" renderer: no canvas, no DOM).
 * vega and vega-lite are loaded on first use, so a run that draws nothing never loads them.
 */
import type { TopLevelSpec } from "vega-lite";

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
