// False in the server render and during hydration, true once React runs in the browser: controls that need
// JavaScript stay disabled until then, so an early click is not lost (or sent as a plain form submission).
import { useSyncExternalStore } from "react";

const subscribe = () => () => {};

export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
