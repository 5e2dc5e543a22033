import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "./api/errors";

/** Server state: a refused request (4xx) is not retried; a network or 5xx error twice. */
export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      },
      mutations: { retry: false },
    },
  });
}
