import { useCallback, useEffect, useRef, useState } from "react";

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Load something for a view; reload on demand or every `everyMs` while `keepPolling(data)`.
 * A newer answer always wins over an older one that arrives late.
 */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  polling?: { everyMs: number; keepPolling: (data: T | undefined) => boolean },
): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const reload = useCallback(() => setTick((value) => value + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    const request = ++latest.current;
    setLoading(true);
    load(controller.signal).then(
      (value) => {
        if (request !== latest.current) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (failure: Error) => {
        if (request !== latest.current || failure.name === "AbortError") return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  useEffect(() => {
    if (!polling || loading || !polling.keepPolling(data)) return;
    const timer = window.setTimeout(reload, polling.everyMs);
    return () => window.clearTimeout(timer);
  }, [data, loading, polling, reload]);

  return { data, error, loading, reload };
}
