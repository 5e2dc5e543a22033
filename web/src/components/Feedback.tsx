/** Progress and errors, said the same way everywhere. */
import { errorMessage } from "../api/errors";

/** One readable sentence, announced as it appears. */
export function ErrorText({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" id={id}>
      {typeof error === "string" ? error : errorMessage(error)}
    </p>
  );
}

/** A long action under way: a spinner and its words, announced politely. */
export function Busy({ label }: { label: string }) {
  return (
    <p className="busy" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}
