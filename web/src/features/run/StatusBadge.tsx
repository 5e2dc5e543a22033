import type { AssessmentStatus } from "../../api/types";
import { STATUS_LABELS } from "../../lib/format";

export function StatusBadge({ status }: { status: AssessmentStatus }) {
  return <span className={`badge badge-${status}`}>{STATUS_LABELS[status] ?? status}</span>;
}
