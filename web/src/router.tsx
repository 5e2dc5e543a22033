/** The routes. Every screen but sign-in and sign-up is its own chunk, loaded when first visited. */
import { createBrowserRouter, Navigate } from "react-router";
import { Busy } from "./components/Feedback";
import { Layout, RequireSession } from "./components/Layout";
import { NotFound } from "./routes/NotFound";
import { SignIn } from "./routes/SignIn";
import { SignUp } from "./routes/SignUp";

/** Shown while the first screen's code arrives (a route's chunk, on a first visit to it). */
const loading = (
  <main className="page page-narrow">
    <Busy label="Loading the page…" />
  </main>
);

export function routes() {
  return [
    { path: "/signin", element: <SignIn /> },
    { path: "/signup", element: <SignUp /> },
    {
      hydrateFallbackElement: loading,
      element: (
        <RequireSession>
          <Layout />
        </RequireSession>
      ),
      children: [
        { index: true, element: <Navigate to="/assessments" replace /> },
        { path: "assessments", lazy: async () => ({ Component: (await import("./routes/Assessments")).default }) },
        { path: "assessments/new", lazy: async () => ({ Component: (await import("./routes/NewAssessment")).default }) },
        { path: "assessments/:id", lazy: async () => ({ Component: (await import("./routes/AssessmentPage")).default }) },
        { path: "catalog", lazy: async () => ({ Component: (await import("./routes/Catalog")).default }) },
        { path: "settings", lazy: async () => ({ Component: (await import("./routes/Settings")).default }) },
        { path: "*", element: <NotFound /> },
      ],
    },
  ];
}

export function makeRouter() {
  return createBrowserRouter(routes());
}
