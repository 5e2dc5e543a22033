/** The price catalog: search machines in a region; compare a machine shape, or one SKU, across clouds and regions. */
import { useMutation } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { api, ok } from "../api/client";
import { REGIONS } from "../api/engine-meta.gen";
import type { CompareRow, PriceOut, Provider, PurchaseOption } from "../api/types";
import { Busy, ErrorText } from "../components/Feedback";
import { Derived } from "../features/results/LineItems";
import { GROUP_LABELS, money, num, providerName, unitPrice, words } from "../lib/format";
import { usePageTitle } from "../lib/usePageTitle";

const PROVIDERS = ["aws", "azure", "gcp"] as const;
const PURCHASE_OPTIONS: PurchaseOption[] = ["on_demand", "spot", "reserved_1y", "reserved_3y", "savings_plan_1y", "savings_plan_3y"];
const GROUPS = ["us", "ca", "eu", "uk", "apac", "sa"];
const HOURS_PER_MONTH = 730;
/** The compare endpoint takes at most this many SKUs at once. */
const MAX_COMPARE = 20;

function monthly(price: PriceOut): number | null {
  return price.unit === "hour" ? Math.round(price.price_usd * HOURS_PER_MONTH * 100) / 100 : null;
}

function attr(price: PriceOut, name: string): string {
  const value = price.attributes[name];
  return value === undefined || value === null ? "—" : String(value);
}

export default function Catalog() {
  usePageTitle("Price catalog");
  return (
    <div className="page">
      <h1 tabIndex={-1}>Price catalog</h1>
      <p className="lead">Every price with its source and date. Derived prices (computed from list prices by a stated rule) are marked ≈.</p>
      <ShapeCompare />
      <MachineSearch />
    </div>
  );
}

interface ShapeRow {
  provider: string;
  region: string;
  regionName: string;
  price: PriceOut | null;
  error?: string;
}

/** The cheapest machine with at least the shape's vCPUs and memory, in each chosen region. */
function ShapeCompare() {
  const id = useId();
  const [providers, setProviders] = useState<string[]>([...PROVIDERS]);
  const [group, setGroup] = useState("us");
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const compare = useMutation({
    mutationFn: async (form: { vcpu: number; memory: number; option: PurchaseOption }) => {
      const regions = REGIONS.filter((r) => providers.includes(r.provider) && r.group === group);
      let done = 0;
      setProgress({ done, total: regions.length });
      const rows = await Promise.all(
        regions.map(async (r): Promise<ShapeRow> => {
          try {
            const found = await ok(
              api().GET("/api/v1/catalog/search", {
                params: { query: { provider: r.provider, region: r.code, min_vcpu: form.vcpu, min_memory_gib: form.memory, purchase_option: form.option, gpu: false, limit: 1 } },
              }),
            );
            return { provider: r.provider, region: r.code, regionName: r.name, price: found.items[0] ?? null };
          } catch (error) {
            return { provider: r.provider, region: r.code, regionName: r.name, price: null, error: error instanceof Error ? error.message : "Not priced." };
          } finally {
            done += 1;
            setProgress({ done, total: regions.length });
          }
        }),
      );
      return rows.sort((a, b) => (a.price?.price_usd ?? Infinity) - (b.price?.price_usd ?? Infinity));
    },
    onSettled: () => setProgress(null),
  });

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    compare.mutate({ vcpu: Number(form.get("vcpu")), memory: Number(form.get("memory")), option: String(form.get("option")) as PurchaseOption });
  };

  const rows = compare.data ?? [];
  const cheapest = rows[0]?.price ? rows[0] : null;
  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Compare a machine shape</h2>
      <p className="hint">The cheapest machine with at least these vCPUs and this memory (no GPU), in every region of the chosen clouds in one area.</p>
      <form onSubmit={onSubmit} className="toolbar toolbar-wrap" aria-busy={compare.isPending}>
        <div className="field">
          <label htmlFor={`${id}-vcpu`}>vCPUs</label>
          <input id={`${id}-vcpu`} name="vcpu" type="number" min={1} max={1024} step="any" defaultValue={4} required />
        </div>
        <div className="field">
          <label htmlFor={`${id}-mem`}>Memory (GiB)</label>
          <input id={`${id}-mem`} name="memory" type="number" min={0} max={32768} step="any" defaultValue={16} required />
        </div>
        <div className="field">
          <label htmlFor={`${id}-opt`}>Purchase option</label>
          <select id={`${id}-opt`} name="option" defaultValue="on_demand">
            {PURCHASE_OPTIONS.map((o) => (
              <option key={o} value={o}>
                {words(o)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-group`}>Area</label>
          <select id={`${id}-group`} value={group} onChange={(e) => setGroup(e.target.value)}>
            {GROUPS.map((g) => (
              <option key={g} value={g}>
                {GROUP_LABELS[g]}
              </option>
            ))}
          </select>
        </div>
        <fieldset className="choices">
          <legend>Clouds</legend>
          <div className="choice-grid">
            {PROVIDERS.map((p) => (
              <label key={p} className="choice">
                <input
                  type="checkbox"
                  checked={providers.includes(p)}
                  onChange={(e) => setProviders(e.target.checked ? [...providers, p] : providers.filter((x) => x !== p))}
                />
                {providerName(p)}
              </label>
            ))}
          </div>
        </fieldset>
        <button type="submit" className="button-primary" disabled={compare.isPending || providers.length === 0}>
          Compare prices
        </button>
      </form>
      {progress ? <Busy label={`Priced ${progress.done} of ${progress.total} regions…`} /> : null}
      <ErrorText error={compare.error} />
      {compare.data ? (
        rows.length ? (
          <div className="table-wrap" role="region" aria-label="Machine shape prices" tabIndex={0}>
            <table className="table">
              <caption className="visually-hidden">Cheapest matching machine per region, cheapest first</caption>
              <thead>
                <tr>
                  <th scope="col">Cloud and region</th>
                  <th scope="col">Machine</th>
                  <th scope="col" className="num">
                    vCPUs
                  </th>
                  <th scope="col" className="num">
                    Memory (GiB)
                  </th>
                  <th scope="col" className="num">
                    Hourly
                  </th>
                  <th scope="col" className="num">
                    Monthly (730 h)
                  </th>
                  <th scope="col">Price date and source</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={`${r.provider}-${r.region}`} className={r === cheapest ? "row-best" : undefined}>
                    <th scope="row">
                      {providerName(r.provider)} {r.region}
                      <div className="cell-note">{r.regionName}</div>
                      {r === cheapest ? <span className="badge badge-completed">Cheapest</span> : null}
                    </th>
                    {r.price ? (
                      <>
                        <td>
                          <code>{r.price.sku}</code>
                        </td>
                        <td className="num">{attr(r.price, "vcpu")}</td>
                        <td className="num">{attr(r.price, "memory_gib")}</td>
                        <td className="num">
                          <Derived item={{ price_basis: r.price.basis }} />
                          {unitPrice(r.price.price_usd)}
                        </td>
                        <td className="num">
                          <Derived item={{ price_basis: r.price.basis }} />
                          {money(monthly(r.price))}
                        </td>
                        <td className="cell-source">
                          {r.price.as_of} · {r.price.source}
                        </td>
                      </>
                    ) : (
                      <td colSpan={6}>{r.error ?? "No machine of this shape is priced here."}</td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="empty">No region of these clouds is in that area.</p>
        )
      ) : null}
    </section>
  );
}

function MachineSearch() {
  const id = useId();
  const [provider, setProvider] = useState<Provider>("aws");
  const regions = REGIONS.filter((r) => r.provider === provider);
  const [region, setRegion] = useState<string>(regions[0]?.code ?? "");
  const search = useMutation({
    mutationFn: (query: { provider: Provider; region: string; min_vcpu: number; min_memory_gib: number; gpu?: boolean; purchase_option: PurchaseOption }) =>
      ok(api().GET("/api/v1/catalog/search", { params: { query: { ...query, limit: 50 } } })),
  });
  const across = useMutation({
    mutationFn: async (price: PriceOut) => {
      const items = REGIONS.filter((r) => r.provider === price.provider)
        .slice(0, MAX_COMPARE)
        .map((r) => ({ provider: price.provider as Provider, sku: price.sku, region: r.code }));
      const out = await ok(api().POST("/api/v1/catalog/compare", { body: { items, purchase_option: price.purchase_option as PurchaseOption } }));
      return { sku: price.sku, provider: price.provider, rows: [...out.rows].sort((a, b) => (a.monthly_usd ?? Infinity) - (b.monthly_usd ?? Infinity)), cheapest: out.cheapest };
    },
  });

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const gpu = String(form.get("gpu"));
    search.mutate({
      provider,
      region,
      min_vcpu: Number(form.get("vcpu") || 0),
      min_memory_gib: Number(form.get("memory") || 0),
      purchase_option: String(form.get("option")) as PurchaseOption,
      ...(gpu ? { gpu: gpu === "yes" } : {}),
    });
  };

  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Search machines</h2>
      <form onSubmit={onSubmit} className="toolbar toolbar-wrap" aria-busy={search.isPending}>
        <div className="field">
          <label htmlFor={`${id}-provider`}>Cloud</label>
          <select
            id={`${id}-provider`}
            value={provider}
            onChange={(e) => {
              setProvider(e.target.value as Provider);
              setRegion(REGIONS.find((r) => r.provider === e.target.value)?.code ?? "");
            }}
          >
            {PROVIDERS.map((p) => (
              <option key={p} value={p}>
                {providerName(p)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-region`}>Region</label>
          <select id={`${id}-region`} value={region} onChange={(e) => setRegion(e.target.value)}>
            {regions.map((r) => (
              <option key={r.code} value={r.code}>
                {r.code}: {r.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-vcpu`}>At least vCPUs</label>
          <input id={`${id}-vcpu`} name="vcpu" type="number" min={0} max={1024} step="any" defaultValue={2} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-mem`}>At least memory (GiB)</label>
          <input id={`${id}-mem`} name="memory" type="number" min={0} max={32768} step="any" defaultValue={4} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-gpu`}>GPU</label>
          <select id={`${id}-gpu`} name="gpu" defaultValue="">
            <option value="">With or without</option>
            <option value="yes">With a GPU</option>
            <option value="no">Without</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-opt`}>Purchase option</label>
          <select id={`${id}-opt`} name="option" defaultValue="on_demand">
            {PURCHASE_OPTIONS.map((o) => (
              <option key={o} value={o}>
                {words(o)}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button-primary" disabled={search.isPending}>
          Search
        </button>
      </form>
      {search.isPending ? <Busy label="Searching the catalog…" /> : null}
      <ErrorText error={search.error} />
      {search.data ? (
        search.data.items.length ? (
          <div className="table-wrap" role="region" aria-label="Machines found" tabIndex={0}>
            <table className="table">
              <caption className="visually-hidden">
                Machines in {search.data.region}, cheapest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">SKU</th>
                  <th scope="col" className="num">
                    vCPUs
                  </th>
                  <th scope="col" className="num">
                    Memory (GiB)
                  </th>
                  <th scope="col">Architecture</th>
                  <th scope="col" className="num">
                    Hourly
                  </th>
                  <th scope="col" className="num">
                    Monthly (730 h)
                  </th>
                  <th scope="col">Price date and source</th>
                  <th scope="col">
                    <span className="visually-hidden">Compare</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {search.data.items.map((p) => (
                  <tr key={`${p.sku}-${p.purchase_option}`}>
                    <th scope="row">
                      <code>{p.sku}</code>
                      {p.rule ? <div className="cell-note">{p.rule}</div> : null}
                    </th>
                    <td className="num">{attr(p, "vcpu")}</td>
                    <td className="num">{num(Number(p.attributes.memory_gib ?? NaN) || null)}</td>
                    <td>{attr(p, "arch")}</td>
                    <td className="num">
                      <Derived item={{ price_basis: p.basis }} />
                      {unitPrice(p.price_usd)}
                    </td>
                    <td className="num">
                      <Derived item={{ price_basis: p.basis }} />
                      {money(monthly(p))}
                    </td>
                    <td className="cell-source">
                      {p.as_of} · {p.source}
                    </td>
                    <td>
                      <button type="button" className="button-quiet" onClick={() => across.mutate(p)} disabled={across.isPending}>
                        Compare {p.sku} across regions
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="empty">No machine in {search.data.region} meets those minimums.</p>
        )
      ) : null}
      {across.isPending ? <Busy label="Pricing it in every region…" /> : null}
      <ErrorText error={across.error} />
      {across.data ? <AcrossRegions sku={across.data.sku} provider={across.data.provider} rows={across.data.rows} /> : null}
    </section>
  );
}

function AcrossRegions({ sku, provider, rows }: { sku: string; provider: string; rows: CompareRow[] }) {
  const id = useId();
  const cheapest = rows.find((r) => r.monthly_usd !== null);
  return (
    <div className="across" role="region" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>
        {sku} in every {providerName(provider)} region
      </h3>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Region</th>
              <th scope="col" className="num">
                Hourly
              </th>
              <th scope="col" className="num">
                Monthly (730 h)
              </th>
              <th scope="col">Price date</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.region} className={r === cheapest ? "row-best" : undefined}>
                <th scope="row">
                  {r.region} {r === cheapest ? <span className="badge badge-completed">Cheapest</span> : null}
                </th>
                {r.price ? (
                  <>
                    <td className="num">
                      <Derived item={{ price_basis: r.price.basis }} />
                      {unitPrice(r.price.price_usd)}
                    </td>
                    <td className="num">
                      <Derived item={{ price_basis: r.price.basis }} />
                      {money(r.monthly_usd)}
                    </td>
                    <td>{r.price.as_of}</td>
                  </>
                ) : (
                  <td colSpan={3}>{r.error ? `Not priced: ${r.error}.` : "Not priced."}</td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
