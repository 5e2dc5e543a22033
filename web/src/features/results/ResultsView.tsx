/**
 * An assessment's result: the recommendation, the options side by side with their cost
 * breakdown, the projection, the line items and commitments of an option, compliance, the
 * Well-Architected review, and what could not be priced.
 */
import { useId, useState } from "react";
import type { AssessmentResult, BudgetLever, Option } from "../../api/types";
import { dateTime, money, moneyChange, num, percent, providerName, words } from "../../lib/format";
import { CostBreakdownChart, optionLabel, ProjectionChart } from "./charts";
import { ComplianceControls } from "./Compliance";
import { Derived, LineItemsTable } from "./LineItems";

interface Props {
  result: AssessmentResult;
  /** When the result was made (the stored result's created_at) */
  createdAt?: string;
  /** 2 on the assessment's page; 3 inside another section */
  level?: 2 | 3;
  /** Given, each budget lever gets a button that tries it as a what-if. */
  onTryLever?: (lever: BudgetLever) => void;
}

function optionKey(o: Option): string {
  return `${o.provider}:${o.region}`;
}

export function ResultsView({ result, createdAt, level = 2, onTryLever }: Props) {
  const id = useId();
  const H = `h${level}` as const;
  const H3 = `h${level + 1}` as "h3" | "h4";
  const options = [...result.options].sort((a, b) => (a.rank || 99) - (b.rank || 99));
  const recommended = result.recommended;
  const first = options.find((o) => recommended && o.provider === recommended.provider && o.region === recommended.region) ?? options[0];
  const [selected, setSelected] = useState(first ? optionKey(first) : "");
  const option = options.find((o) => optionKey(o) === selected) ?? first;
  const budget = result.budget;

  return (
    <div className="results">
      <section className="panel" aria-labelledby={`${id}-rec`}>
        <H id={`${id}-rec`}>Recommendation</H>
        {recommended ? (
          <>
            <p className="headline">
              <span className="headline-where">
                {providerName(recommended.provider)} {recommended.region}
                {first?.region_name ? <span className="muted"> ({first.region_name})</span> : null}
              </span>
              <span className="headline-cost">
                {money(recommended.monthly_cost_usd)}
                <span className="muted"> a month</span>
              </span>
            </p>
            {budget.monthly_budget_usd ? (
              <p className={budget.within_budget ? "ok" : "warn"}>
                {budget.within_budget
                  ? `Within the budget of ${money(budget.monthly_budget_usd)} a month (${money(Math.abs(budget.gap_usd ?? 0))} to spare).`
                  : `Over the budget of ${money(budget.monthly_budget_usd)} a month by ${money(budget.gap_usd)}.`}
                {budget.passing_note ? ` ${budget.passing_note}` : null}
                {budget.levers?.length ? (
                  <>
                    {" "}
                    <a href={`#${id}-levers`}>What would lower the cost</a>
                  </>
                ) : null}
              </p>
            ) : null}
            {budget.levers_note ? (
              <p className="hint">{budget.levers_note}.</p>
            ) : null}
            <H3>Why</H3>
            <ul className="reasons">
              {recommended.reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
            <p className="hint">
              Prices from the catalog as of {result.catalog_as_of}
              {createdAt ? `; assessed ${dateTime(createdAt)}` : ""}.
            </p>
          </>
        ) : (
          <p className="warn">No option meets the requirements; the options below say what each one misses.</p>
        )}
      </section>

      <section className="panel" aria-labelledby={`${id}-opt`}>
        <H id={`${id}-opt`}>Options</H>
        <ul className="option-cards">
          {options.map((o) => (
            <li key={optionKey(o)} className={`option-card${recommended && optionKey(o) === `${recommended.provider}:${recommended.region}` ? " option-recommended" : ""}`}>
              <H3 className="option-title">
                {optionLabel(o)}
                {o.rank === 1 ? <span className="badge badge-completed">Recommended</span> : null}
              </H3>
              <p className="muted">{o.region_name}</p>
              <p className="option-cost">
                {o.line_items.some((i) => i.price_basis === "derived") ? <Derived item={{ price_basis: "derived" }} /> : null}
                {money(o.monthly_cost_usd)} <span className="muted">a month</span>
              </p>
              <dl className="facts">
                <dt>Constraints</dt>
                <dd>{o.constraints_met ? "All met" : `${o.violations.length} not met`}</dd>
                <dt>Compliance gaps</dt>
                <dd>{o.compliance_gaps}</dd>
                <dt>Unpriced items</dt>
                <dd>{o.unpriced?.length ?? 0}</dd>
                {o.user_rtt_ms !== null && o.user_rtt_ms !== undefined ? (
                  <>
                    <dt>{Object.keys(result.region_choice?.user_shares ?? {}).length ? "Round trip, average user" : "Round trip to users"}</dt>
                    <dd>~{num(o.user_rtt_ms)} ms</dd>
                  </>
                ) : null}
                {o.price_dates ? (
                  <>
                    <dt>Prices dated</dt>
                    <dd>
                      {o.price_dates.oldest} to {o.price_dates.newest}
                    </dd>
                  </>
                ) : null}
              </dl>
              {o.violations.length ? (
                <ul className="violations">
                  {o.violations.map((v) => (
                    <li key={v}>{v}</li>
                  ))}
                </ul>
              ) : null}
              {o.rank_basis ? <p className="hint">{o.rank_basis}</p> : null}
            </li>
          ))}
        </ul>
        {recommended?.alternatives.length ? (
          // each alternative against the recommendation, and where the difference comes from
          <ul className="hint alternatives">
            {recommended.alternatives.map((a) => (
              <li key={`${a.provider}:${a.region}`}>
                {`${providerName(a.provider)} ${a.region}: ${moneyChange(a.delta_usd)} a month (${percent(Math.abs(a.delta_pct))})`}
                {a.differences_text ? `; the largest differences: ${a.differences_text}` : ""}.
              </li>
            ))}
          </ul>
        ) : null}
        {options.length ? <CostBreakdownChart options={options} /> : null}
      </section>

      <section className="panel" aria-labelledby={`${id}-proj`}>
        <H id={`${id}-proj`}>Projection</H>
        <ProjectionChart projection={result.projection} budgetUsd={budget.monthly_budget_usd} />
      </section>

      {budget.levers?.length ? <BudgetLevers result={result} level={level} id={`${id}-levers`} onTry={onTryLever} /> : null}

      <section className="panel" aria-labelledby={`${id}-items`}>
        <H id={`${id}-items`}>Line items</H>
        {options.length > 1 ? (
          <div className="field field-inline">
            <label htmlFor={`${id}-option`}>Option</label>
            <select id={`${id}-option`} value={selected} onChange={(e) => setSelected(e.target.value)}>
              {options.map((o) => (
                <option key={optionKey(o)} value={optionKey(o)}>
                  {optionLabel(o)} ({money(o.monthly_cost_usd)})
                </option>
              ))}
            </select>
          </div>
        ) : null}
        {option ? <LineItemsTable items={option.line_items} caption={`Line items of ${optionLabel(option)}`} /> : <p className="empty">No option was priced.</p>}
      </section>

      {option ? (
        <section className="panel" aria-labelledby={`${id}-commit`}>
          <H id={`${id}-commit`}>Commitments</H>
          <p className="hint">{optionLabel(option)} priced under each purchase option (whole option, per month).</p>
          <div className="table-wrap" role="region" aria-label="Commitment prices" tabIndex={0}>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Purchase option</th>
                  <th scope="col" className="num">
                    Monthly
                  </th>
                  <th scope="col" className="num">
                    Saving
                  </th>
                  <th scope="col" className="num">
                    Coverage
                  </th>
                  <th scope="col" className="num">
                    Break-even month
                  </th>
                  <th scope="col">Note</th>
                </tr>
              </thead>
              <tbody>
                {option.commitment.map((c) => (
                  <tr key={c.purchase_option}>
                    <th scope="row">{words(c.purchase_option)}</th>
                    <td className="num">
                      <Derived item={{ price_basis: c.price_basis === "list" ? "list" : "derived" }} />
                      {money(c.monthly_usd)}
                    </td>
                    <td className="num">
                      {money(c.savings_usd)} ({percent(c.savings_pct)})
                    </td>
                    <td className="num">{percent(c.coverage_pct)}</td>
                    <td className="num">{c.break_even_month ?? "—"}</td>
                    <td>{c.note}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}

      <section className="panel" aria-labelledby={`${id}-comp`}>
        <H id={`${id}-comp`}>Compliance</H>
        <ComplianceControls controls={result.compliance} />
      </section>

      <section className="panel" aria-labelledby={`${id}-review`}>
        <H id={`${id}-review`}>Well-Architected review</H>
        <ul className="pillars">
          {result.review.map((p) => (
            <li key={p.pillar}>
              <H3>
                {words(p.pillar)} <span className={`badge badge-risk-${p.risk}`}>{p.risk === "none" ? "No risk found" : `${words(p.risk)} risk`}</span>
              </H3>
              <ul>
                {p.findings.map((f, i) => {
                  // which finding the pillar's risk comes from ("Metrics and alarms: ..." is not one)
                  const risk = p.finding_risks?.[i];
                  return (
                    <li key={f}>
                      {risk === "high" || risk === "medium" ? <span className={`badge badge-risk-${risk}`}>{`${words(risk)} risk`}</span> : null}
                      {risk === "high" || risk === "medium" ? " " : null}
                      {f}
                    </li>
                  );
                })}
              </ul>
            </li>
          ))}
        </ul>
      </section>

      <Warnings result={result} level={level} id={`${id}-warn`} />
    </div>
  );
}

/** When the first month over budget is, in words (the engine's `levers.outlook`). */
export function budgetOutlook(month: number | null | undefined, horizon: number): string {
  if (month === null || month === undefined) return `within budget for ${horizon} month${horizon === 1 ? "" : "s"}`;
  return month === 1 ? "over budget now" : `over budget from month ${month}`;
}

/** Over budget now or with growth: what one changed setting would save, priced by the engine. */
function BudgetLevers({ result, level, id, onTry }: { result: AssessmentResult; level: 2 | 3; id: string; onTry?: (lever: BudgetLever) => void }) {
  const H = `h${level}` as const;
  const budget = result.budget;
  const levers = budget.levers ?? [];
  const horizon = result.requirements.business?.horizon_months ?? 12;
  const left = levers.filter((l) => l.together === false).map((l) => l.change);
  const limit = budget.monthly_budget_usd ?? Infinity;
  const passes = result.projection.find((m) => m.monthly_cost_usd > limit)?.month;
  return (
    <section className="panel" aria-labelledby={`${id}-h`} id={id}>
      <H id={`${id}-h`}>What would lower the cost</H>
      <p className="hint">
        {budget.within_budget ? `With growth the cost passes the budget${passes ? ` in month ${passes}` : ""}` : "The recommendation is over budget"}. Each change below is one setting of the requirements; the
        engine designed {result.recommended ? `${providerName(result.recommended.provider)} ${result.recommended.region}` : "the recommended option"} again with it.
      </p>
      <div className="table-wrap" role="region" aria-label="Budget levers" tabIndex={0}>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Change</th>
              <th scope="col" className="num">Monthly</th>
              <th scope="col" className="num">Saving</th>
              <th scope="col">Budget</th>
              <th scope="col" className="num">Gaps added</th>
              <th scope="col">Gives up</th>
              {onTry ? (
                <th scope="col">
                  <span className="visually-hidden">What-if</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {levers.map((l) => (
              <tr key={`${l.setting}=${String(l.value)}`}>
                <th scope="row">{l.change}</th>
                <td className="num">{money(l.monthly_cost_usd)}</td>
                <td className="num">{money(l.saving_usd)}</td>
                <td className={l.over_budget_from_month === 1 ? "warn" : undefined}>{budgetOutlook(l.over_budget_from_month, horizon)}</td>
                <td className="num">{l.compliance_gaps_added ?? 0}</td>
                <td>{l.gives_up}</td>
                {onTry ? (
                  <td>
                    <button type="button" className="nowrap" onClick={() => onTry(l)} aria-label={`Try as a what-if: ${l.change}`}>
                      Try it
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {budget.levers_together_usd !== null && budget.levers_together_usd !== undefined ? (
        <p>
          All of them at once{left.length ? ` (not ${left.join(", ")})` : ""}: {money(budget.levers_together_usd)} a month,{" "}
          {budgetOutlook(budget.levers_together_over_budget_from_month, horizon)}.
        </p>
      ) : null}
    </section>
  );
}

function Warnings({ result, level, id }: { result: AssessmentResult; level: 2 | 3; id: string }) {
  const H = `h${level}` as const;
  const unpriced = result.options.flatMap((o) => (o.unpriced ?? []).map((u) => `${optionLabel(o)}: ${u}`));
  const terms = result.options.flatMap((o) => (o.terms_unavailable ?? []).map((t) => `${optionLabel(o)}: ${t}`));
  const excluded = result.region_choice?.excluded ?? [];
  const nothing = !result.warnings.length && !unpriced.length && !terms.length;
  return (
    <section className="panel" aria-labelledby={id}>
      <H id={id}>Warnings and unpriced items</H>
      {nothing ? <p className="ok">No warnings: every component of every option is priced from the catalog.</p> : null}
      {result.warnings.length ? (
        <ul className="warnings">
          {result.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      ) : null}
      {unpriced.length ? (
        <>
          <p>Not priced (not in the totals):</p>
          <ul className="warnings">
            {unpriced.map((u) => (
              <li key={u}>{u}</li>
            ))}
          </ul>
        </>
      ) : null}
      {terms.length ? (
        <>
          <p>Purchase terms the catalog has no price for (priced on demand):</p>
          <ul className="warnings">
            {terms.map((t) => (
              <li key={t}>{t}</li>
            ))}
          </ul>
        </>
      ) : null}
      {excluded.length ? (
        <p className="hint">
          Regions not designed ({result.region_choice?.rule}): {excluded.join("; ")}.
        </p>
      ) : null}
    </section>
  );
}
