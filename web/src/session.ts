import { createContext, useContext, useEffect, useRef, useState } from "react";
import { type Api, type Capabilities, type LiveEvent, type Me, streamEvents } from "./api";

export interface Session {
  api: Api;
  me: Me;
  can: Capabilities;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("no session");
  return session;
}

/** Loads `load()` now and again whenever `deps` change; `reload` runs it again (e.g. on a live event). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    load().then((value) => current && (setData(value), setError(undefined)), (e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

/** Subscribes to live events while mounted; `onEvent` calls are coalesced to at most one per 300 ms. */
export function useLiveEvents(query: string, onEvent: (events: LiveEvent[]) => void): boolean {
  const { api } = useSession();
  const [live, setLive] = useState(false);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    let pending: LiveEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = streamEvents(api, query, (event) => {
      if (event.type === "ready") return;
      pending.push(event);
      timer ??= setTimeout(() => {
        timer = undefined;
        const batch = pending;
        pending = [];
        handler.current(batch);
      }, 300);
    }, setLive);
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, [api, query]);
  return live;
}
