/**
 * The part every local vendor-service stand-in shares (AMD KDS, Intel PCS): a server on a free
 * loopback port that records each request and can be switched to answer 503 (the service
 * overloaded, optionally with `Retry-After`) or closed (connection refused), to test how the
 * components behave while the vendor service is down.
 *
 * @module
 */

/** What a stand-in does with a request. */
export type StandInMode = "up" | "unavailable";

/** A running stand-in on 127.0.0.1. */
export interface VendorStandIn {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly base: string;
  /** Requests received (path and query), in order. */
  readonly requests: readonly string[];
  /** `up` serves; `unavailable` answers 503 to everything. */
  mode: StandInMode;
  /** With `unavailable`: the `Retry-After` seconds the 503 carries (default none). */
  retryAfterSeconds?: number;
  /** Stops listening: later requests get "connection refused". */
  close(): Promise<void>;
}

/** Serves one request while the stand-in is up (404 for what the service does not know). */
type StandInHandler = (url: URL) => Response | Promise<Response>;

/** Starts a stand-in answering with `serve` while up, on a free loopback port. */
export function startVendorStandIn(serve: StandInHandler): VendorStandIn {
  const requests: string[] = [];
  const state: { mode: StandInMode; retryAfterSeconds?: number } = { mode: "up" };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      requests.push(url.pathname + url.search);
      if (state.mode === "unavailable") {
        const retryAfter = state.retryAfterSeconds;
        return new Response("service unavailable", {
          status: 503,
          ...(retryAfter !== undefined ? { headers: { "retry-after": String(retryAfter) } } : {}),
        });
      }
      return await serve(url);
    },
  );
  let closed: Promise<void> | undefined;
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    requests,
    get mode() {
      return state.mode;
    },
    set mode(mode: StandInMode) {
      state.mode = mode;
    },
    get retryAfterSeconds() {
      return state.retryAfterSeconds;
    },
    set retryAfterSeconds(seconds: number | undefined) {
      state.retryAfterSeconds = seconds;
    },
    close: () => closed ??= server.shutdown(),
  };
}
