/** What-if: change traffic, clouds, commitment, availability, residency, the users' shares, the compliance frameworks or the settings a budget lever changes (managed services, spot, Kubernetes, arm64); see the new result beside the current one. */
import { useMutation } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { api, ok } from "../../api/client";
import { asResult, type AssessmentResult, type BudgetLever, type WhatIf, type WhatIfRead } from "../../api/types";
import { ErrorText } from "../../components/Feedback";
import { COUNTRIES } from "../../api/engine-meta.gen";
import { FRAMEWORK_LABELS, GROUP_LABELS, money, moneyChange, percent, providerName } from "../../lib/format";
import { requirementsField } from "../requirements/schema";
import { optionLabel } from "../results/charts";
import { ResultsView } from "../results/ResultsView";

const PROVIDERS = ["aws", "azure", "gcp"] as const;
const AVAILABILITY = [99, 99.5, 99.9, 99.95, 99.99] as const;
const COUNTRY_NAMES: Record<string, string> = Object.fromEntries(COUNTRIES.map((c) => [c.code, c.name]));
/** Where data may be kept: the region groups, then the countries with a covered region, by name. */
const RESIDENCY_VALUES = (requirementsField("data_residency").options ?? []).map(String);
const RESIDENCY = [
  ...RESIDENCY_VALUES.filter((v) => !COUNTRY_NAMES[v]).map((value) => ({ value, label: GROUP_LABELS[value] ?? value })),
  ...RESIDENCY_VALUES.filter((v) => COUNTRY_NAMES[v])
    .map((value) => ({ value, label: `${COUNTRY_NAMES[value]} (${value})` }))
    .sort((a, b) => a.label.localeCompare(b.label)),
];

/** A user place by name: "European Union (eu)", "Japan (JP)". */
const placeLabel = (p: string) => (COUNTRY_NAMES[p] ? `${COUNTRY_NAMES[p]} (${p})` : `${GROUP_LABELS[p] ?? p} (${p})`);

/** The compliance frameworks the engine knows, in the requirements' order. */
const FRAMEWORKS = (requirementsField("compliance").options ?? []).map(String);

type Provider = (typeof PROVIDERS)[number];

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The yes/no settings a budget lever may change, each "" (as the requirements have it), "true" or "false". */
export interface Switches {
  managed: string;
  spot: string;
  kubernetes: string;
  arm: string;
}

const NO_SWITCHES: Switches = { managed: "", spot: "", kubernetes: "", arm: "" };

/** The users' shares as boxes hold them (text, "" for none) and as the API takes them (numbers, none left out). */
function sharesOf(boxes: Record<string, string>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(boxes)
      .filter(([, v]) => v.trim() !== "")
      .map(([k, v]) => [k, Number(v)]),
  );
}

function sameShares(a: Record<string, number>, b: Record<string, number>): boolean {
  return Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
}

/** The request body: only what differs from the stored requirements. */
export function whatIfBody(
  current: { providers: string[]; residency: string[]; compliance?: string[]; shares?: Record<string, number> },
  chosen: { traffic: number; providers: string[]; commitment: string; availability: string; residency: string[]; compliance?: string[]; shares?: Record<string, string> } & Partial<Switches>,
): WhatIf {
  const body: WhatIf = {};
  if (chosen.shares) {
    const shares = sharesOf(chosen.shares);
    if (!sameShares(shares, current.shares ?? {})) body.user_shares = shares;
  }
  if (chosen.traffic !== 1) body.traffic_multiplier = chosen.traffic;
  if (!sameSet(chosen.providers, current.providers)) body.providers = chosen.providers as Provider[];
  if (chosen.commitment) body.commitment = chosen.commitment as WhatIf["commitment"];
  if (chosen.availability) body.availability_target = Number(chosen.availability) as WhatIf["availability_target"];
  if (!sameSet(chosen.residency, current.residency)) body.data_residency = chosen.residency as NonNullable<WhatIf["data_residency"]>;
  if (chosen.compliance && !sameSet(chosen.compliance, current.compliance ?? [])) body.compliance = chosen.compliance as NonNullable<WhatIf["compliance"]>;
  if (chosen.managed) body.managed_services = chosen.managed === "true";
  if (chosen.spot) body.spot_ok = chosen.spot === "true";
  if (chosen.kubernetes) body.kubernetes = chosen.kubernetes as WhatIf["kubernetes"];
  if (chosen.arm) body.allow_arm = chosen.arm === "true";
  return body;
}

/** Where each setting a budget lever changes sits in the what-if form. */
const LEVER_FIELD: Record<string, "availability" | "commitment" | keyof Switches> = {
  availability_target: "availability",
  "preferences.commitment": "commitment",
  "preferences.managed_services": "managed",
  "preferences.spot_ok": "spot",
  "preferences.kubernetes": "kubernetes",
  "preferences.allow_arm": "arm",
};

/** A budget lever as the what-if form's settings: its one setting changed (the compliance lever: the frameworks that still apply). */
export function leverPreset(lever: BudgetLever): { commitment?: string; availability?: string; compliance?: string[] } & Partial<Switches> {
  if (lever.setting === "compliance" && Array.isArray(lever.value)) return { compliance: lever.value.map(String) };
  const field = LEVER_FIELD[lever.setting];
  return field ? { [field]: String(lever.value) } : {};
}

/** The switches of a lever's preset (the rest of it has fields of its own). */
function leverSwitches(preset: ReturnType<typeof leverPreset>): Partial<Switches> {
  const { managed, spot, kubernetes, arm } = preset;
  return Object.fromEntries(Object.entries({ managed, spot, kubernetes, arm }).filter(([, v]) => v !== undefined));
}

interface PanelProps {
  assessmentId: string;
  current: AssessmentResult;
  /** A budget lever to try at once: the form starts with its setting changed and is sent (remount with a new key for another). */
  lever?: BudgetLever | null;
}

export function WhatIfPanel({ assessmentId, current, lever }: PanelProps) {
  const id = useId();
  const requirements = current.requirements;
  const prefs = requirements.preferences;
  const currentProviders = prefs?.providers ?? [...PROVIDERS];
  const currentResidency = requirements.data_residency ?? [];
  const currentCompliance: string[] = requirements.compliance ?? [];
  const users: string[] = requirements.users ?? [];
  const currentShares: Record<string, number> = requirements.user_shares ?? {};
  const [shares, setShares] = useState<Record<string, string>>(Object.fromEntries(users.map((p) => [p, currentShares[p] === undefined ? "" : String(currentShares[p])])));
  const preset = lever ? leverPreset(lever) : {};
  const [traffic, setTraffic] = useState(1);
  const [providers, setProviders] = useState<string[]>([...currentProviders]);
  const [commitment, setCommitment] = useState(preset.commitment ?? "");
  const [availability, setAvailability] = useState(preset.availability ?? "");
  const [residency, setResidency] = useState<string[]>([...currentResidency]);
  const [compliance, setCompliance] = useState<string[]>(preset.compliance ?? [...currentCompliance]);
  const [switches, setSwitches] = useState<Switches>({ ...NO_SWITCHES, ...leverSwitches(preset) });
  const [problem, setProblem] = useState<string | null>(null);
  const [full, setFull] = useState(false);

  const tryIt = useMutation({
    mutationFn: (body: WhatIf) => ok(api().POST("/api/v1/assessments/{assessment_id}/what-if", { params: { path: { assessment_id: assessmentId } }, body })),
  });
  const sent = useRef(false);
  const section = useRef<HTMLElement>(null);
  useEffect(() => {
    // a lever chosen in the results: try it once, as if its setting had been picked here,
    // with the focus (and so the view) moved to this panel
    if (!lever || sent.current) return;
    sent.current = true;
    section.current?.focus();
    const body = whatIfBody(
      { providers: currentProviders, residency: currentResidency, compliance: currentCompliance },
      { traffic: 1, providers: currentProviders, commitment, availability, residency: currentResidency, compliance, ...switches },
    );
    tryIt.mutate(body);
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    if (!providers.length) {
      setProblem("Choose at least one cloud.");
      return;
    }
    if (Object.values(sharesOf(shares)).some((n) => !Number.isFinite(n))) {
      setProblem("Each share of the users is a number: a percent.");
      return;
    }
    const body = whatIfBody(
      { providers: currentProviders, residency: currentResidency, compliance: currentCompliance, shares: currentShares },
      { traffic, providers, commitment, availability, residency, compliance, shares, ...switches },
    );
    if (!Object.keys(body).length) {
      setProblem("Change something first: every setting is as the requirements have it.");
      return;
    }
    setFull(false);
    tryIt.mutate(body);
  };

  const toggle = (list: string[], value: string, on: boolean) => (on ? [...list, value] : list.filter((v) => v !== value));

  return (
    <section className="panel" aria-labelledby={`${id}-h`} id="what-if" ref={section} tabIndex={-1}>
      <h2 id={`${id}-h`}>What-if</h2>
      <p className="hint">Assess the stored requirements with a change, now; nothing is saved.</p>
      {lever ? (
        <p className="note">
          Trying a budget lever: {lever.change}. The results priced it at {money(lever.monthly_cost_usd)} a month for the recommended option alone; here every
          option is assessed with it.
        </p>
      ) : null}
      <form onSubmit={onSubmit} className="what-if-form" aria-busy={tryIt.isPending}>
        <div className="field">
          <label htmlFor={`${id}-traffic`}>Traffic multiplier</label>
          <div className="slider">
            <input
              id={`${id}-traffic`}
              type="range"
              min={0.1}
              max={10}
              step={0.1}
              value={traffic}
              aria-valuetext={`${traffic} times today's traffic`}
              onChange={(e) => setTraffic(Number(e.target.value))}
            />
            <output htmlFor={`${id}-traffic`}>×{traffic.toFixed(1)}</output>
          </div>
        </div>
        <fieldset className="choices">
          <legend>Clouds</legend>
          <div className="choice-grid">
            {PROVIDERS.map((p) => (
              <label key={p} className="choice">
                <input type="checkbox" checked={providers.includes(p)} onChange={(e) => setProviders(toggle(providers, p, e.target.checked))} />
                {providerName(p)}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="field-grid">
          <div className="field">
            <label htmlFor={`${id}-commit`}>Commitment</label>
            <select id={`${id}-commit`} value={commitment} onChange={(e) => setCommitment(e.target.value)}>
              <option value="">Unchanged ({requirements.preferences?.commitment ?? "none"})</option>
              <option value="none">None (on demand)</option>
              <option value="1y">1 year</option>
              <option value="3y">3 years</option>
            </select>
          </div>
          <YesNo id={`${id}-managed`} label="Managed databases and caches" current={prefs?.managed_services ?? true} value={switches.managed} onChange={(managed) => setSwitches({ ...switches, managed })} />
          <YesNo id={`${id}-spot`} label="Spot for interruptible work" current={prefs?.spot_ok ?? false} value={switches.spot} onChange={(spot) => setSwitches({ ...switches, spot })} />
          <div className="field">
            <label htmlFor={`${id}-k8s`}>Kubernetes</label>
            <select id={`${id}-k8s`} value={switches.kubernetes} onChange={(e) => setSwitches({ ...switches, kubernetes: e.target.value })}>
              <option value="">Unchanged ({prefs?.kubernetes ?? "auto"})</option>
              <option value="auto">Auto (where it costs less)</option>
              <option value="required">Required</option>
              <option value="avoid">Avoid</option>
            </select>
          </div>
          <YesNo id={`${id}-arm`} label="arm64 machines" current={prefs?.allow_arm ?? true} value={switches.arm} onChange={(arm) => setSwitches({ ...switches, arm })} />
          <div className="field">
            <label htmlFor={`${id}-avail`}>Availability target</label>
            <select id={`${id}-avail`} value={availability} onChange={(e) => setAvailability(e.target.value)}>
              <option value="">Unchanged ({requirements.availability_target ?? 99.9}%)</option>
              {AVAILABILITY.map((a) => (
                <option key={a} value={String(a)}>
                  {a}%
                </option>
              ))}
            </select>
          </div>
        </div>
        <fieldset className="choices">
          <legend>Compliance frameworks</legend>
          <p className="hint">None ticked: none apply.</p>
          <div className="choice-grid">
            {FRAMEWORKS.map((f) => (
              <label key={f} className="choice">
                <input type="checkbox" checked={compliance.includes(f)} onChange={(e) => setCompliance(toggle(compliance, f, e.target.checked))} />
                {FRAMEWORK_LABELS[f] ?? f}
              </label>
            ))}
          </div>
        </fieldset>
        {users.length > 1 ? (
          <fieldset className="choices">
            <legend>Share of the users at each place (%)</legend>
            <p className="hint">Adding up to 100; all empty: every place counts the same. Where no region is near all of them, the largest share decides.</p>
            <div className="field-grid">
              {users.map((p) => (
                <div key={p} className="field">
                  <label htmlFor={`${id}-share-${p}`}>{placeLabel(p)}</label>
                  <input id={`${id}-share-${p}`} inputMode="decimal" autoComplete="off" value={shares[p] ?? ""} onChange={(e) => setShares({ ...shares, [p]: e.target.value })} />
                </div>
              ))}
            </div>
            {Object.keys(sharesOf(shares)).length ? <p className="hint">{`Together ${Object.values(sharesOf(shares)).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0).toLocaleString("en-US")}%.`}</p> : null}
          </fieldset>
        ) : null}
        <fieldset className="choices">
          <legend>Data residency</legend>
          <p className="hint">None ticked: anywhere.</p>
          <div className="choice-grid">
            {RESIDENCY.map((p) => (
              <label key={p.value} className="choice">
                <input type="checkbox" checked={residency.includes(p.value)} onChange={(e) => setResidency(toggle(residency, p.value, e.target.checked))} />
                {p.label}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={tryIt.isPending}>
            Try it
          </button>
          {tryIt.isPending ? <span role="status">Assessing the change…</span> : null}
        </div>
        <ErrorText error={problem ?? tryIt.error} />
      </form>
      {tryIt.data ? <WhatIfOutcome current={current} outcome={tryIt.data} full={full} onFull={setFull} /> : null}
    </section>
  );
}

export function WhatIfOutcome({ current, outcome, full, onFull }: { current: AssessmentResult; outcome: WhatIfRead; full: boolean; onFull: (v: boolean) => void }) {
  const id = useId();
  const next = asResult(outcome.result);
  const cost = outcome.differences.monthly_cost_usd;
  const rec = outcome.differences.recommended;
  const place = (p: { provider: string; region: string } | null | undefined) => (p ? `${providerName(p.provider)} ${p.region}` : "none");
  const pct = cost.before && cost.delta !== null && cost.delta !== undefined ? (cost.delta / cost.before) * 100 : null;
  const moved = place(rec.before) !== place(rec.after);
  const optionCost = (r: AssessmentResult) =>
    [...r.options].sort((a, b) => (a.rank || 99) - (b.rank || 99)).map((o) => `${optionLabel(o)}: ${money(o.monthly_cost_usd)}`);
  const gaps = (r: AssessmentResult) => r.options.find((o) => r.recommended && o.provider === r.recommended.provider && o.region === r.recommended.region)?.compliance_gaps;
  return (
    <div className="what-if-outcome" aria-labelledby={`${id}-h`} role="region">
      <h3 id={`${id}-h`}>Differences</h3>
      <p role="status" className="differences">
        Monthly cost: {money(cost.before)} → {money(cost.after)} (
        <span className={cost.delta && cost.delta > 0 ? "up" : "down"}>
          {moneyChange(cost.delta)}
          {pct !== null && Math.round(pct * 10) !== 0 ? `, ${percent(Math.abs(Math.round(pct * 10) / 10))}` : ""}
        </span>
        ). {moved ? `Recommended: ${place(rec.before)} → ${place(rec.after)}.` : `Still recommended: ${place(rec.after)}.`}
      </p>
      <div className="table-wrap">
        <table className="table compare">
          <caption className="visually-hidden">The current result and the what-if result side by side</caption>
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Figure</span>
              </th>
              <th scope="col">Current</th>
              <th scope="col">What-if</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">Recommended</th>
              <td>{place(current.recommended)}</td>
              <td>{place(next.recommended)}</td>
            </tr>
            <tr>
              <th scope="row">Monthly cost</th>
              <td>{money(current.recommended?.monthly_cost_usd)}</td>
              <td>{money(next.recommended?.monthly_cost_usd)}</td>
            </tr>
            <tr>
              <th scope="row">Budget</th>
              <td>{budgetWords(current)}</td>
              <td>{budgetWords(next)}</td>
            </tr>
            <tr>
              <th scope="row">Compliance gaps</th>
              <td>{gaps(current) ?? "—"}</td>
              <td>{gaps(next) ?? "—"}</td>
            </tr>
            <tr>
              <th scope="row">Options</th>
              <td>
                <ul className="plain">
                  {optionCost(current).map((o) => (
                    <li key={o}>{o}</li>
                  ))}
                </ul>
              </td>
              <td>
                <ul className="plain">
                  {optionCost(next).map((o) => (
                    <li key={o}>{o}</li>
                  ))}
                </ul>
              </td>
            </tr>
            <tr>
              <th scope="row">Month {next.projection[next.projection.length - 1]?.month ?? "—"} projection</th>
              <td>{money(current.projection[current.projection.length - 1]?.monthly_cost_usd)}</td>
              <td>{money(next.projection[next.projection.length - 1]?.monthly_cost_usd)}</td>
            </tr>
            <tr>
              <th scope="row">Warnings</th>
              <td>{current.warnings.length}</td>
              <td>{next.warnings.length}</td>
            </tr>
          </tbody>
        </table>
      </div>
      <button type="button" aria-expanded={full} onClick={() => onFull(!full)}>
        {full ? "Hide the what-if result" : "Show the what-if result in full"}
      </button>
      {full ? <ResultsView result={next} level={3} /> : null}
    </div>
  );
}

/** A yes/no setting: "" keeps the requirements' own ("Unchanged", naming it). */
function YesNo({ id, label, current, value, onChange }: { id: string; label: string; current: boolean; value: string; onChange: (v: string) => void }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Unchanged ({current ? "yes" : "no"})</option>
        <option value="true">Yes</option>
        <option value="false">No</option>
      </select>
    </div>
  );
}

function budgetWords(r: AssessmentResult): string {
  const b = r.budget;
  if (!b.monthly_budget_usd) return "No budget given";
  return b.within_budget ? `Within (${money(Math.abs(b.gap_usd ?? 0))} to spare)` : `Over by ${money(b.gap_usd)}`;
}
