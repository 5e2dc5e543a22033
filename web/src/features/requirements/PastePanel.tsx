/** The paste-or-upload path: YAML or JSON text that fills the form. */
import { forwardRef, useEffect, useId, useImperativeHandle, useRef, useState, type ChangeEvent } from "react";
import { parseRequirementsText, ParseProblem } from "./yamlio";

export interface PastePanelHandle {
  /** Applies text typed since the last fill (before a submit); false when it does not parse. */
  flush: () => Promise<boolean>;
}

interface Props {
  /** Called with each document parsed from the box; returns a note to show (what was filled). */
  onDocument: (doc: Record<string, unknown>) => string;
}

const MAX_FILE_BYTES = 1_000_000;

export const PastePanel = forwardRef<PastePanelHandle, Props>(function PastePanel({ onDocument }, ref) {
  const id = useId();
  const [text, setText] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const applied = useRef("");
  const latest = useRef("");
  const lastOk = useRef(true);

  const apply = async (value: string): Promise<boolean> => {
    if (value === applied.current) return lastOk.current;
    applied.current = value;
    lastOk.current = true;
    if (!value.trim()) {
      setProblem(null);
      setNote(null);
      return true;
    }
    try {
      const doc = await parseRequirementsText(value);
      if (latest.current !== value) return true; // typed on meanwhile: the newer text wins
      setProblem(null);
      setNote(onDocument(doc));
      return true;
    } catch (error) {
      if (latest.current !== value) return true;
      lastOk.current = false;
      setNote(null);
      setProblem(error instanceof ParseProblem ? error.message : "The text could not be read.");
      return false;
    }
  };

  useImperativeHandle(ref, () => ({ flush: () => apply(latest.current) }));

  // fill the form a moment after typing stops
  useEffect(() => {
    latest.current = text;
    const timer = setTimeout(() => void apply(text), 350);
    return () => clearTimeout(timer);
  }, [text]);

  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = "";
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      setProblem(`${file.name} is over 1 MB; a requirements file is a few kilobytes.`);
      return;
    }
    const content = await file.text();
    latest.current = content;
    setText(content);
    await apply(content);
  };

  return (
    <section className="panel paste-panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Paste or upload YAML/JSON</h2>
      <p className="hint">A requirements file (as `infra-mind assess` reads it) fills the form below; check it there, then create the assessment.</p>
      <div className={`field${problem ? " field-invalid" : ""}`}>
        <label htmlFor={`${id}-text`}>Requirements (YAML or JSON)</label>
        <textarea
          id={`${id}-text`}
          rows={8}
          spellCheck={false}
          value={text}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? `${id}-problem` : undefined}
          onChange={(e) => {
            latest.current = e.target.value;
            setText(e.target.value);
          }}
          onFocus={() => void import("yaml")}
        />
        {problem ? (
          <p className="field-error" id={`${id}-problem`} role="alert">
            {problem}
          </p>
        ) : null}
      </div>
      <div className="field">
        <label htmlFor={`${id}-file`}>Upload a YAML or JSON file</label>
        <input id={`${id}-file`} type="file" accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml" onChange={onFile} />
      </div>
      <p role="status" className="note">
        {note ?? ""}
      </p>
    </section>
  );
});
