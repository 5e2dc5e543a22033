import { useSyncExternalStore } from "react";
import { isSignedIn, subscribe } from "../api/session";

/** Whether there is an access token in memory; re-renders when the session starts or ends. */
export function useSignedIn(): boolean {
  return useSyncExternalStore(subscribe, isSignedIn, isSignedIn);
}
