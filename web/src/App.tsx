import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { RouterProvider, type createBrowserRouter } from "react-router";
import { restoreSession } from "./api/session";
import { Busy } from "./components/Feedback";
import { makeQueryClient } from "./queryClient";
import { makeRouter } from "./router";

/** Restores the session from the refresh cookie once, then shows the app. */
export function App({ queryClient, router }: { queryClient?: QueryClient; router?: ReturnType<typeof createBrowserRouter> }) {
  const [client] = useState(() => queryClient ?? makeQueryClient());
  const [appRouter] = useState(() => router ?? makeRouter());
  const [restoring, setRestoring] = useState(true);
  useEffect(() => {
    let live = true;
    void restoreSession().finally(() => {
      if (live) setRestoring(false);
    });
    return () => {
      live = false;
    };
  }, []);
  if (restoring) {
    return (
      <main className="page page-narrow">
        <Busy label="Loading Infra Mind…" />
      </main>
    );
  }
  return (
    <QueryClientProvider client={client}>
      <RouterProvider router={appRouter} />
    </QueryClientProvider>
  );
}
