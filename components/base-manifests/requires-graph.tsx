// The requires graph as an SVG, rendered on the server: columns by requires depth, so every package sits right of what it needs.
import type { RequiresGraph } from "@/lib/manifest/order";

const NODE_W = 176;
const NODE_H = 40;
const GAP_X = 56;
const GAP_Y = 12;
const PAD = 8;

export function layoutGraph(graph: RequiresGraph) {
  const requires = new Map<string, string[]>();
  for (const e of graph.edges) requires.set(e.from, [...(requires.get(e.from) ?? []), e.to]);
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (seen.has(id)) return 0; // a cycle (refused by validation, but never loop forever)
    seen.add(id);
    const d = Math.max(-1, ...(requires.get(id) ?? []).map((r) => depthOf(r, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  graph.nodes.forEach((n) => depthOf(n.id, new Set()));
  const columns: string[][] = [];
  for (const n of graph.nodes) (columns[depth.get(n.id)!] ??= []).push(n.id);
  const position = new Map<string, { x: number; y: number }>();
  columns.forEach((ids, c) => ids.forEach((id, r) => position.set(id, { x: PAD + c * (NODE_W + GAP_X), y: PAD + r * (NODE_H + GAP_Y) })));
  const width = PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * GAP_X;
  const height = PAD * 2 + Math.max(1, ...columns.map((c) => c.length)) * (NODE_H + GAP_Y) - GAP_Y;
  return { columns, position, width, height, depth };
}

const short = (text: string, max: number) => (text.length > max ? text.slice(0, max - 1) + "…" : text);

export function RequiresGraphSvg({ graph, highlight = [] }: { graph: RequiresGraph; highlight?: string[] }) {
  const { columns, position, width, height } = layoutGraph(graph);
  const marked = new Set(highlight);
  const summary = columns.map((ids, c) => `level ${c + 1}: ${ids.join(", ")}`).join("; ");
  return (
    <figure>
      <div className="overflow-x-auto">
        <svg
          role="img"
          aria-label={`Requires graph. ${summary}`}
          viewBox={`0 0 ${width} ${height}`}
          width={width}
          height={height}
          className="max-w-none text-slate-700"
        >
          <defs>
            <marker id="requires-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L8,4 L0,8 z" className="fill-slate-400" />
            </marker>
          </defs>
          {graph.edges.map((e) => {
            const from = position.get(e.to)!; // the required package, to the left
            const to = position.get(e.from)!;
            const x1 = from.x + NODE_W;
            const y1 = from.y + NODE_H / 2;
            const x2 = to.x - 2;
            const y2 = to.y + NODE_H / 2;
            const bend = Math.max(24, (x2 - x1) / 2);
            return (
              <path
                key={`${e.from}->${e.to}`}
                d={`M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`}
                fill="none"
                className="stroke-slate-300"
                strokeWidth={1.5}
                markerEnd="url(#requires-arrow)"
              >
                <title>{`${e.from} requires ${e.to}`}</title>
              </path>
            );
          })}
          {graph.nodes.map((n) => {
            const p = position.get(n.id)!;
            const hot = marked.has(n.id);
            return (
              <a key={n.id} href={`#pkg-${n.id.replace("/", "-")}`}>
                <title>{`${n.id}${n.version ? ` ${n.version}` : ""}`}</title>
                <rect
                  x={p.x}
                  y={p.y}
                  width={NODE_W}
                  height={NODE_H}
                  rx={6}
                  className={hot ? "fill-brand-50 stroke-brand-500" : "fill-white stroke-slate-300"}
                  strokeWidth={1.25}
                />
                <text x={p.x + 10} y={p.y + 17} className="fill-slate-900 font-mono text-[12px] font-medium">
                  {short(n.id, 22)}
                </text>
                <text x={p.x + 10} y={p.y + 32} className="fill-slate-500 text-[11px]">
                  {short(n.version ?? "", 26)}
                </text>
              </a>
            );
          })}
        </svg>
      </div>
      <figcaption className="mt-2 text-xs text-slate-500">
        Columns are build depth: each package sits to the right of everything it requires; arrows point from a package to the ones that need it.
      </figcaption>
    </figure>
  );
}
