/** How figures read on screen: the API's numbers, formatted, never rounded into new facts. */

const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usdWhole = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

/** $1,234.56 */
export function money(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : usd.format(value);
}

/** $1,235: for chart axes. */
export function moneyShort(value: number): string {
  return usdWhole.format(value);
}

/**
 * A difference in words, as the engine writes one: "$12.30 more", "$12.30 less", "the same".
 * No sign in front of an amount: "−$1,802.66 (-39.4%)" mixed two minus signs on one line.
 */
export function moneyChange(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  if (Math.abs(value) < 0.005) return "the same";
  return `${usd.format(Math.abs(value))} ${value > 0 ? "more" : "less"}`;
}

/** Unit prices keep their precision ($0.04947024 per hour). */
export function unitPrice(value: number): string {
  return `$${value.toLocaleString("en-US", { maximumFractionDigits: 8, minimumFractionDigits: 2 })}`;
}

export function num(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : plain.format(value);
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${plain.format(value)}%`;
}

const PROVIDERS: Record<string, string> = { aws: "AWS", azure: "Azure", gcp: "Google Cloud" };

export function providerName(code: string): string {
  return PROVIDERS[code] ?? code;
}

/** "2026-12-06T02:31:55Z" -> "6 Dec 2026, 02:31" in the reader's zone. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** "reserved_1y" -> "reserved 1y"; "operational_excellence" -> "Operational excellence". */
export function words(code: string): string {
  const text = code.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export const STATUS_LABELS: Record<string, string> = {
  draft: "Draft",
  queued: "Queued",
  running: "Running",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const FRAMEWORK_LABELS: Record<string, string> = {
  hipaa: "HIPAA",
  gdpr: "GDPR",
  soc2: "SOC 2",
  pci_dss: "PCI DSS",
  iso27001: "ISO 27001",
  ccpa: "CCPA",
};

export const GROUP_LABELS: Record<string, string> = {
  us: "United States",
  ca: "Canada",
  eu: "European Union",
  uk: "United Kingdom",
  apac: "Asia Pacific",
  sa: "South America",
};
