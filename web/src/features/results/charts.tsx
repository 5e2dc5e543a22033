/**
 * Two charts, drawn as SVG by hand: a small, accessible alternative to a chart library (no
 * inline styles, so the app's strict CSP holds). Each is an image with an accessible name and
 * a one-sentence summary, and its figures are in a table beside it.
 */
import { useId, type ReactNode } from "react";
import type { Option, ProjectionMonth } from "../../api/types";
import { money, moneyShort, providerName } from "../../lib/format";

/** Round axis steps: 1, 2 or 5 times a power of ten. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.001; v += step) ticks.push(Number(v.toFixed(10)));
  if ((ticks[ticks.length - 1] ?? 0) < max) ticks.push(Number(((ticks[ticks.length - 1] ?? 0) + step).toFixed(10)));
  return ticks;
}

/** Monthly cost per component of each option (line items summed by component). */
export function breakdown(option: Option): { component: string; monthly_usd: number }[] {
  const sums = new Map<string, number>();
  for (const item of option.line_items) sums.set(item.component, (sums.get(item.component) ?? 0) + item.monthly_usd);
  return [...sums.entries()].map(([component, monthly_usd]) => ({ component, monthly_usd: Math.round(monthly_usd * 100) / 100 })).sort((a, b) => b.monthly_usd - a.monthly_usd);
}

/**
 * The colours (CSS classes `series-N`) a component may take, chosen to be told apart: a
 * thirteenth component used to take the first one's colour, and the palette's near twins
 * (two greens, three violets) made bars ambiguous. Past these, the smallest components
 * share one grey part, "other"; the table under the chart lists every component.
 */
const COLOURS = [0, 1, 2, 3, 4, 5, 6, 9];
const OTHER_COLOUR = 10;
/** The name of the part that holds the components past the colours. */
export const OTHER_PART = "other components";

/** The components that get a colour of their own (the costliest over all options) and the rest. */
export function chartComponents(options: Option[]): { shown: string[]; folded: string[] } {
  const totals = new Map<string, number>();
  for (const o of options) for (const p of breakdown(o)) totals.set(p.component, (totals.get(p.component) ?? 0) + p.monthly_usd);
  const all = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([c]) => c);
  // folding a single component into "other" would only rename it
  if (all.length <= COLOURS.length) return { shown: all, folded: [] };
  return { shown: all.slice(0, COLOURS.length - 1), folded: all.slice(COLOURS.length - 1) };
}

/** One option's bar: its shown components in the legend's order, then the other components. */
export function chartParts(option: Option, shown: string[]): { component: string; monthly_usd: number; colour: number }[] {
  const parts = breakdown(option);
  const bar = shown.flatMap((c, i) => {
    const part = parts.find((p) => p.component === c);
    return part ? [{ ...part, colour: COLOURS[i] ?? OTHER_COLOUR }] : [];
  });
  const rest = parts.filter((p) => !shown.includes(p.component)).reduce((sum, p) => sum + p.monthly_usd, 0);
  if (rest > 0) bar.push({ component: OTHER_PART, monthly_usd: Math.round(rest * 100) / 100, colour: OTHER_COLOUR });
  return bar;
}

export function optionLabel(option: Option): string {
  return `${option.rank ? `${option.rank}. ` : ""}${providerName(option.provider)} ${option.region}`;
}

/**
 * A chart's frame: on a phone the chart keeps a legible width and scrolls sideways (drawn
 * to the screen's width its labels were 5 px high); focusable, so a keyboard scrolls it too.
 */
function ChartScroll({ name, children }: { name: string; children: ReactNode }) {
  return (
    <div className="chart-scroll" role="region" aria-label={`${name} chart`} tabIndex={0}>
      {children}
    </div>
  );
}

/** Width of a label's 13 px text, at most, in the chart's units (a wide glyph's 0.62 em). */
const LABEL_CHAR_W = 8.1;
/** The bars' label column: as wide as the longest label ("1. Google Cloud asia-southeast1"
 * was cut to "oogle Cloud ..." in a fixed 190), within 120 and 320. */
export function labelWidth(labels: string[]): number {
  const longest = Math.max(0, ...labels.map((l) => l.length));
  return Math.round(Math.min(320, Math.max(120, longest * LABEL_CHAR_W + 12)));
}

export function CostBreakdownChart({ options }: { options: Option[] }) {
  const id = useId();
  // one colour per component, the same on every bar
  const { shown, folded } = chartComponents(options);
  const components = [...shown, ...folded];
  const rows = options.map((o) => ({ option: o, parts: breakdown(o), bar: chartParts(o, shown) }));
  const max = Math.max(...options.map((o) => o.monthly_cost_usd), 1);
  const ticks = niceTicks(max, 4);
  const top = ticks[ticks.length - 1] ?? max;
  const labelW = labelWidth(options.map(optionLabel));
  const width = 760;
  const plotW = width - labelW - 20;
  const barH = 26;
  const gap = 14;
  const height = rows.length * (barH + gap) + 30;
  const x = (v: number) => labelW + (v / top) * plotW;
  const cheapest = [...options].sort((a, b) => a.monthly_cost_usd - b.monthly_cost_usd)[0];
  return (
    <figure className="chart">
      <ChartScroll name="Cost breakdown">
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Cost breakdown" aria-describedby={`${id}-sum`} className="chart-svg">
          {ticks.map((t) => (
            <g key={t} className="axis">
              <line x1={x(t)} x2={x(t)} y1={0} y2={height - 24} />
              {/* the last tick's figure ends at its line: centred, "$10,000" ran off the edge */}
              <text x={x(t)} y={height - 8} textAnchor={x(t) + 30 > width ? "end" : "middle"}>
                {moneyShort(t)}
              </text>
            </g>
          ))}
          {rows.map(({ option, bar }, r) => {
            const y = r * (barH + gap) + 6;
            let at = 0;
            return (
              <g key={`${option.provider}-${option.region}`}>
                <text x={labelW - 8} y={y + barH / 2 + 5} textAnchor="end" className="chart-label">
                  {optionLabel(option)}
                </text>
                {bar.map((p) => {
                  const start = at;
                  at += p.monthly_usd;
                  return (
                    <rect key={`${p.colour}-${p.component}`} x={x(start)} y={y} width={Math.max(0, x(at) - x(start))} height={barH} className={`series-${p.colour}`}>
                      <title>{`${optionLabel(option)}, ${p.component}: ${money(p.monthly_usd)}`}</title>
                    </rect>
                  );
                })}
                <text x={Math.min(x(option.monthly_cost_usd) + 6, width - 4)} y={y + barH / 2 + 5} className="chart-value" textAnchor={x(option.monthly_cost_usd) + 80 > width ? "end" : "start"}>
                  {money(option.monthly_cost_usd)}
                </text>
              </g>
            );
          })}
        </svg>
      </ChartScroll>
      <figcaption id={`${id}-sum`}>
        Monthly cost of each option by component.{" "}
        {cheapest ? `Lowest total: ${optionLabel(cheapest)} at ${money(cheapest.monthly_cost_usd)} a month.` : ""}
      </figcaption>
      <ul className="legend" aria-label="Components">
        {shown.map((c, i) => (
          <li key={c}>
            <span className={`swatch series-${COLOURS[i] ?? OTHER_COLOUR}`} aria-hidden="true" />
            {c}
          </li>
        ))}
        {folded.length ? (
          <li>
            <span className={`swatch series-${OTHER_COLOUR}`} aria-hidden="true" />
            {`other (${folded.length} smaller components, in the table)`}
          </li>
        ) : null}
      </ul>
      <details>
        <summary>Cost breakdown as a table</summary>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Component</th>
                {options.map((o) => (
                  <th scope="col" className="num" key={`${o.provider}-${o.region}`}>
                    {optionLabel(o)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {components.map((c) => (
                <tr key={c}>
                  <th scope="row">{c}</th>
                  {rows.map(({ option, parts }) => (
                    <td className="num" key={`${option.provider}-${option.region}`}>
                      {money(parts.find((p) => p.component === c)?.monthly_usd ?? null)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

export function ProjectionChart({ projection, budgetUsd }: { projection: ProjectionMonth[]; budgetUsd: number | null | undefined }) {
  const id = useId();
  if (!projection.length) return <p className="empty">No projection in this result.</p>;
  const width = 760;
  const height = 300;
  const left = 72;
  const right = 16;
  const topPad = 16;
  const bottom = 36;
  const max = Math.max(...projection.map((p) => p.p90), budgetUsd ?? 0, 1);
  const ticks = niceTicks(max, 5);
  const top = ticks[ticks.length - 1] ?? max;
  const months = projection.map((p) => p.month);
  const first = months[0] ?? 1;
  const last = months[months.length - 1] ?? first;
  const x = (m: number) => left + (last === first ? 0 : ((m - first) / (last - first)) * (width - left - right));
  const y = (v: number) => topPad + (1 - v / top) * (height - topPad - bottom);
  const line = projection.map((p, i) => `${i ? "L" : "M"}${x(p.month).toFixed(1)},${y(p.monthly_cost_usd).toFixed(1)}`).join(" ");
  const band =
    projection.map((p, i) => `${i ? "L" : "M"}${x(p.month).toFixed(1)},${y(p.p90).toFixed(1)}`).join(" ") +
    " " +
    [...projection].reverse().map((p) => `L${x(p.month).toFixed(1)},${y(p.p10).toFixed(1)}`).join(" ") +
    " Z";
  const step = Math.max(1, Math.ceil(projection.length / 9));
  const end = projection[projection.length - 1];
  const start = projection[0];
  const overBudget = budgetUsd ? projection.find((p) => p.monthly_cost_usd > budgetUsd) : undefined;
  return (
    <figure className="chart">
      <ChartScroll name="Cost projection">
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Cost projection" aria-describedby={`${id}-sum`} className="chart-svg">
          {ticks.map((t) => (
            <g key={t} className="axis">
              <line x1={left} x2={width - right} y1={y(t)} y2={y(t)} />
              <text x={left - 8} y={y(t) + 4} textAnchor="end">
                {moneyShort(t)}
              </text>
            </g>
          ))}
          {projection
            .filter((_, i) => i % step === 0 || i === projection.length - 1)
            .map((p) => (
              <text key={p.month} x={x(p.month)} y={height - 14} textAnchor="middle" className="axis-label">
                {p.month}
              </text>
            ))}
          <text x={(left + width - right) / 2} y={height - 1} textAnchor="middle" className="axis-label">
            Month
          </text>
          <path d={band} className="projection-band" />
          <path d={line} className="projection-line" />
          {budgetUsd ? (
            <g className="budget">
              <line x1={left} x2={width - right} y1={y(budgetUsd)} y2={y(budgetUsd)} />
              <text x={width - right - 4} y={y(budgetUsd) - 6} textAnchor="end">
                Budget {money(budgetUsd)}
              </text>
            </g>
          ) : null}
        </svg>
      </ChartScroll>
      <figcaption id={`${id}-sum`}>
        {start && end
          ? `Month ${start.month}: ${money(start.monthly_cost_usd)}; month ${end.month}: ${money(end.monthly_cost_usd)}, between ${money(end.p10)} (P10) and ${money(end.p90)} (P90).`
          : ""}{" "}
        {budgetUsd
          ? overBudget
            ? `The expected cost passes the budget of ${money(budgetUsd)} in month ${overBudget.month}.`
            : `The expected cost stays within the budget of ${money(budgetUsd)}.`
          : "No budget was given."}
      </figcaption>
      <ul className="legend" aria-label="Series">
        <li>
          <span className="swatch swatch-line" aria-hidden="true" />
          Expected monthly cost
        </li>
        <li>
          <span className="swatch swatch-band" aria-hidden="true" />
          P10 to P90
        </li>
        {budgetUsd ? (
          <li>
            <span className="swatch swatch-budget" aria-hidden="true" />
            Budget
          </li>
        ) : null}
      </ul>
      <details>
        <summary>Cost projection as a table</summary>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Month</th>
                <th scope="col" className="num">
                  Expected
                </th>
                <th scope="col" className="num">
                  P10
                </th>
                <th scope="col" className="num">
                  P90
                </th>
              </tr>
            </thead>
            <tbody>
              {projection.map((p) => (
                <tr key={p.month}>
                  <th scope="row">{p.month}</th>
                  <td className="num">{money(p.monthly_cost_usd)}</td>
                  <td className="num">{money(p.p10)}</td>
                  <td className="num">{money(p.p90)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
