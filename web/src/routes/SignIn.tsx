import { useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { ApiError } from "../api/errors";
import { signIn } from "../api/session";
import { ErrorText } from "../components/Feedback";
import { InputField } from "../components/Field";
import { useSignedIn } from "../lib/session";
import { usePageTitle } from "../lib/usePageTitle";

/** Where to go after signing in: a path of this app only (never another origin). */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/assessments";
}

export function SignIn() {
  usePageTitle("Sign in");
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const signedIn = useSignedIn();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const next = safeNext(params.get("next"));

  if (signedIn && !busy) return <Navigate to={next} replace />;

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    setFieldErrors({});
    try {
      await signIn(String(form.get("email") ?? ""), String(form.get("password") ?? ""));
      navigate(next, { replace: true });
    } catch (caught) {
      setError(caught);
      if (caught instanceof ApiError) setFieldErrors(caught.fieldErrors);
      setBusy(false);
    }
  };

  return (
    <main id="main" className="page page-narrow auth-page">
      <p className="brand brand-large">Infra Mind</p>
      <h1 tabIndex={-1}>Sign in</h1>
      <form onSubmit={onSubmit} noValidate aria-busy={busy}>
        <InputField label="Email" name="email" type="email" autoComplete="username" required error={fieldErrors.email} />
        <InputField label="Password" name="password" type="password" autoComplete="current-password" required error={fieldErrors.password} />
        <ErrorText error={error} />
        <button type="submit" className="button-primary" disabled={busy}>
          Sign in
        </button>
        {busy ? <p role="status">Signing in…</p> : null}
      </form>
      <p>
        New to Infra Mind? <Link to={`/signup${params.get("next") ? `?next=${encodeURIComponent(next)}` : ""}`}>Create an account</Link>
      </p>
    </main>
  );
}
