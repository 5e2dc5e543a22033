import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { Link, Navigate, NavLink, Outlet, useLocation, useNavigate, useNavigation } from "react-router";
import { api, ok } from "../api/client";
import { signOut } from "../api/session";
import { useSignedIn } from "../lib/session";

/** The signed-in user (name, organizations and roles). */
export function useMe() {
  return useQuery({ queryKey: ["me"], queryFn: ({ signal }) => ok(api().GET("/api/v1/auth/me", { signal })), staleTime: 60_000 });
}

/** Sends a visitor without a session to sign in, and back here afterwards. */
export function RequireSession({ children }: { children: ReactNode }) {
  const signedIn = useSignedIn();
  const location = useLocation();
  if (!signedIn) {
    const next = location.pathname + location.search;
    return <Navigate to={next === "/" ? "/signin" : `/signin?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}

export function Layout() {
  const me = useMe();
  const navigation = useNavigation();
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [signingOut, setSigningOut] = useState(false);
  const first = useRef(true);

  // after a navigation, focus goes to the new page's heading, so a screen reader starts there
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>("main h1");
    heading?.focus();
  }, [location.pathname]);

  const onSignOut = async () => {
    setSigningOut(true);
    try {
      await signOut();
    } finally {
      queryClient.clear();
      navigate("/signin", { replace: true });
    }
  };

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link to="/assessments" className="brand">
          Infra Mind
        </Link>
        <nav aria-label="Main" className="main-nav">
          <NavLink to="/assessments" end={false}>
            Assessments
          </NavLink>
          <NavLink to="/catalog">Catalog</NavLink>
          <NavLink to="/settings">Settings</NavLink>
        </nav>
        <div className="user">
          {me.data ? <span className="user-name">{me.data.full_name}</span> : null}
          <button type="button" className="button-quiet" onClick={onSignOut} disabled={signingOut} aria-busy={signingOut}>
            Sign out
          </button>
        </div>
      </header>
      {navigation.state === "loading" ? (
        <div className="route-progress" role="status">
          <span className="visually-hidden">Loading the page…</span>
        </div>
      ) : null}
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
