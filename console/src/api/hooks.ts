import { createContext, useCallback, useContext, useEffect, useRef, useState } from "react";
import type { TypedDocumentString } from "../gql/graphql";
import { ApiError, type Api, type ConnectionState } from "./client";

export const ApiContext = createContext<Api | undefined>(undefined);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside a signed-in session");
  return api;
}

export interface QueryState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  /** Loads again, keeping the current data on screen meanwhile (no flash of empty state). */
  reload(): void;
}

/** Runs a query when mounted and whenever its variables change (compared as JSON). */
export function useQuery<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  options: { skip?: boolean } = {},
): QueryState<TResult> {
  const api = useApi();
  const key = JSON.stringify(variables);
  const [state, setState] = useState<{ data?: TResult; error?: ApiError; loading: boolean }>({ loading: !options.skip });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (options.skip) return;
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    api.request(document, JSON.parse(key) as TVariables).then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState((s) => ({ data: s.data, error: asApiError(error), loading: false })),
    );
    return () => {
      current = false;
    };
  }, [api, document, key, generation, options.skip]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export interface Mutation<TResult, TVariables> {
  run(variables: TVariables): Promise<TResult | undefined>;
  error: ApiError | undefined;
  busy: boolean;
  reset(): void;
}

/** A mutation with its error and busy state; run() resolves undefined when it failed. */
export function useMutation<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>): Mutation<TResult, TVariables> {
  const api = useApi();
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async (variables: TVariables) => {
      setBusy(true);
      setError(undefined);
      try {
        return await api.request(document, variables);
      } catch (e) {
        setError(asApiError(e));
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [api, document],
  );
  return { run, error, busy, reset: () => setError(undefined) };
}

export function useConnectionState(): ConnectionState {
  const api = useApi();
  const [state, setState] = useState(api.connectionState());
  useEffect(() => {
    setState(api.connectionState());
    return api.onConnectionState(setState);
  }, [api]);
  return state;
}

/** Keeps the latest value of a callback without re-running effects that use it. */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}

export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(error instanceof Error ? error.message : String(error), undefined, undefined);
}
