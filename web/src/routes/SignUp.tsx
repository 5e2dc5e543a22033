import { useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { ApiError } from "../api/errors";
import { register } from "../api/session";
import { ErrorText } from "../components/Feedback";
import { InputField } from "../components/Field";
import { useSignedIn } from "../lib/session";
import { usePageTitle } from "../lib/usePageTitle";
import { safeNext } from "./SignIn";

export function SignUp() {
  usePageTitle("Create account");
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
      await register(String(form.get("email") ?? ""), String(form.get("password") ?? ""), String(form.get("full_name") ?? ""));
      navigate(next, { replace: true });
    } catch (caught) {
      // a refused field says why beside it; the summary line says what happened
      if (caught instanceof ApiError && Object.keys(caught.fieldErrors).length) {
        setFieldErrors(caught.fieldErrors);
        const count = Object.keys(caught.fieldErrors).length;
        const only = Object.values(caught.fieldErrors)[0] ?? "";
        const reason = only.charAt(0).toLowerCase() + only.slice(1);
        setError(count === 1 ? `The account was not created: ${reason}` : `The account was not created: ${count} fields need a change.`);
      } else {
        setError(caught);
      }
      setBusy(false);
    }
  };

  return (
    <main id="main" className="page page-narrow auth-page">
      <p className="brand brand-large">Infra Mind</p>
      <h1 tabIndex={-1}>Create your account</h1>
      <form onSubmit={onSubmit} noValidate aria-busy={busy}>
        <InputField label="Full name" name="full_name" autoComplete="name" required maxLength={200} error={fieldErrors.full_name} />
        <InputField label="Email" name="email" type="email" autoComplete="email" required maxLength={320} error={fieldErrors.email} />
        <InputField
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={12}
          maxLength={128}
          error={fieldErrors.password}
          hint="At least 12 characters. Common, breached or repetitive passwords, and ones built on your email, are refused: a few unrelated words work well."
        />
        <ErrorText error={error} />
        <button type="submit" className="button-primary" disabled={busy}>
          Create account
        </button>
        {busy ? <p role="status">Creating your account…</p> : null}
      </form>
      <p>
        Already have an account? <Link to="/signin">Sign in</Link>
      </p>
    </main>
  );
}
