/** Names for the generated types the app uses. */
import type { components as Engine } from "./engine";
import type { components as Api } from "./schema";

type E = Engine["schemas"];
type A = Api["schemas"];

export type Requirements = E["Requirements"];
export type Workload = Requirements["workloads"][number];
export type WorkloadType = Workload["type"];
export type AssessmentResult = E["AssessmentResult"];
export type Option = E["Option"];
export type LineItem = E["LineItem"];
export type CommitmentOption = E["CommitmentOption"];
export type ControlResult = E["ControlResult"];
export type ReviewPillar = E["ReviewPillar"];
export type ProjectionMonth = E["ProjectionMonth"];
export type Recommendation = E["Recommendation"];
export type BudgetLever = E["BudgetLever"];

export type AssessmentSummary = A["AssessmentSummary"];
export type AssessmentRead = A["AssessmentRead"];
export type AssessmentStatus = AssessmentSummary["status"];
export type ResultRead = A["ResultRead"];
export type WhatIf = A["WhatIf"];
export type WhatIfRead = A["WhatIfRead"];
export type Differences = A["Differences"];
export type MessageRead = A["MessageRead"];
export type CitationRead = A["CitationRead"];
export type ConversationSummary = A["ConversationSummary"];
export type PriceOut = A["PriceOut"];
export type CompareRow = A["CompareRow"];
export type UserOut = A["UserOut"];
export type SecretRead = A["SecretRead"];
export type ReportKind = A["ReportKind"];
export type Provider = A["CompareItem"]["provider"];
export type PurchaseOption = NonNullable<A["CompareIn"]["purchase_option"]>;
/** The requirements as the API's create and update bodies type them. */
export type RequirementsBody = A["AssessmentCreate"]["requirements"];

/** A requirements document (from the form, a file or YAML) as the body of a request. */
export function asRequirementsBody(document: Record<string, unknown>): RequirementsBody {
  return document as unknown as RequirementsBody;
}

/** The engine's result as the API serves it (a JSON object the OpenAPI document leaves open). */
export function asResult(value: Record<string, unknown>): AssessmentResult {
  return value as unknown as AssessmentResult;
}

/** Statuses during which a run is in progress. */
export const ACTIVE: readonly AssessmentStatus[] = ["queued", "running"];
