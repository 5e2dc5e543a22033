/** The option's line items: sortable, each with its source and price date; derived prices marked ≈. */
import { useMemo, useState } from "react";
import type { LineItem } from "../../api/types";
import { money, num, unitPrice, words } from "../../lib/format";

type Key = "workload" | "component" | "service" | "sku" | "quantity" | "unit_price_usd" | "monthly_usd" | "purchase_option" | "source" | "as_of";

const COLUMNS: { key: Key; label: string; numeric?: boolean }[] = [
  { key: "workload", label: "Workload" },
  { key: "component", label: "Component" },
  { key: "service", label: "Service" },
  { key: "sku", label: "SKU" },
  { key: "quantity", label: "Quantity", numeric: true },
  { key: "unit_price_usd", label: "Unit price", numeric: true },
  { key: "monthly_usd", label: "Monthly", numeric: true },
  { key: "purchase_option", label: "Purchase option" },
  { key: "source", label: "Source" },
  { key: "as_of", label: "Price date" },
];

export function sortItems(items: LineItem[], key: Key, ascending: boolean): LineItem[] {
  const sorted = [...items].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return ascending ? order : -order;
  });
  return sorted;
}

/** A source as read in a table: a commit id cut to 7 characters (the full one in the title). */
export function shortSource(source: string): string {
  return source.replace(/@([0-9a-f]{7})[0-9a-f]{33}\b/, "@$1");
}

const SOURCE_CHARS = 90;

/** A price's source: short ones in full; a long one (a derived price's inputs) opens on demand. */
export function Source({ source }: { source: string }) {
  const short = shortSource(source);
  if (short.length <= SOURCE_CHARS) return <span title={source}>{short}</span>;
  return (
    <details className="cell-details">
      <summary>{`${short.slice(0, SOURCE_CHARS - 30).trimEnd()}…`}</summary>
      <p className="cell-note">{source}</p>
    </details>
  );
}

export function Derived({ item }: { item: { price_basis?: string } }) {
  if (item.price_basis !== "derived") return null;
  return (
    <>
      <span className="derived-mark" aria-hidden="true" title="Derived price: computed from list prices by the rule in the note">
        ≈
      </span>
      <span className="visually-hidden">derived price </span>
    </>
  );
}

export function LineItemsTable({ items, caption }: { items: LineItem[]; caption: string }) {
  const [sort, setSort] = useState<{ key: Key; ascending: boolean }>({ key: "monthly_usd", ascending: false });
  const rows = useMemo(() => sortItems(items, sort.key, sort.ascending), [items, sort]);
  const anyDerived = items.some((i) => i.price_basis === "derived");
  const onSort = (key: Key) =>
    setSort((current) => (current.key === key ? { key, ascending: !current.ascending } : { key, ascending: !COLUMNS.find((c) => c.key === key)?.numeric }));
  return (
    <>
      <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
        <table className="table line-items">
          <caption className="visually-hidden">
            {caption}, sorted by {COLUMNS.find((c) => c.key === sort.key)?.label.toLowerCase()} {sort.ascending ? "ascending" : "descending"}
          </caption>
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  scope="col"
                  className={c.numeric ? "num" : undefined}
                  aria-sort={sort.key === c.key ? (sort.ascending ? "ascending" : "descending") : "none"}
                >
                  <button type="button" className="sort" onClick={() => onSort(c.key)}>
                    {c.label}
                    <span aria-hidden="true" className="sort-mark">
                      {sort.key === c.key ? (sort.ascending ? " ▲" : " ▼") : ""}
                    </span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((item, i) => (
              <tr key={`${item.workload}-${item.component}-${item.sku}-${i}`} className={item.price_basis === "derived" ? "row-derived" : undefined}>
                <td>{item.workload}</td>
                <td>
                  {item.component}
                  {item.note ? (
                    <details className="cell-details">
                      <summary>How it was sized</summary>
                      <p className="cell-note">{item.note}</p>
                    </details>
                  ) : null}
                </td>
                <td>{item.service}</td>
                <td>
                  <code>{item.sku}</code>
                </td>
                <td className="num">
                  {num(item.quantity)} {item.unit}
                </td>
                <td className="num">
                  <Derived item={item} />
                  {unitPrice(item.unit_price_usd)}
                </td>
                <td className="num">
                  <Derived item={item} />
                  {money(item.monthly_usd)}
                </td>
                <td>{words(item.purchase_option)}</td>
                <td className="cell-source">
                  <Source source={item.source} />
                </td>
                <td className="nowrap">{item.as_of}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {anyDerived ? (
        <p className="hint">
          <span className="derived-mark" aria-hidden="true">
            ≈
          </span>{" "}
          A derived price: computed from list prices by the rule in its note, not a published list price.
        </p>
      ) : null}
    </>
  );
}
