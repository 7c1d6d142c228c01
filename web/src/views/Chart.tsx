import { useEffect, useRef } from "react";
import uPlot from "uplot";

/** A uPlot line chart of one metric: average with min and max. */
export function MetricChart({ title, points, from, to }: { title: string; points: { t: string; avg: number; min: number; max: number }[]; from: number; to: number }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const data: uPlot.AlignedData = [
      points.map((p) => new Date(p.t).getTime() / 1000),
      points.map((p) => p.avg),
      points.map((p) => p.min),
      points.map((p) => p.max),
    ];
    const chart = new uPlot({
      title, width: Math.min(900, ref.current.clientWidth || 900), height: 260,
      series: [{}, { label: "avg", stroke: "#1f6feb", width: 2 }, { label: "min", stroke: "#8b949e", dash: [4, 4] }, { label: "max", stroke: "#d29922", dash: [4, 4] }],
      // The whole requested range, however few buckets have data.
      scales: { x: { time: true, range: () => [from / 1000, to / 1000] } },
      axes: [{}, {}],
    }, data, ref.current);
    return () => chart.destroy();
  }, [title, points, from, to]);
  return <figure className="chart" aria-label={`${title} chart`}><div ref={ref} /><figcaption className="sr-only">{title}: {points.length} time buckets</figcaption></figure>;
}
