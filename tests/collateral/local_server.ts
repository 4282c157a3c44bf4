/**
 * A real HTTP server on 127.0.0.1 (port 0) for collateral client tests, counting hits per path.
 *
 * @module
 */

/** A running test server. */
export interface LocalServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly base: string;
  /** Requests received per path+query. */
  readonly hits: Map<string, number>;
  /** Total requests received. */
  total(): number;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts a server whose `handler` gets the request and how many times its path was hit before. */
export function startServer(
  handler: (request: Request, previousHits: number) => Response | Promise<Response>,
): LocalServer {
  const hits = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    const key = url.pathname + url.search;
    const previous = hits.get(key) ?? 0;
    hits.set(key, previous + 1);
    return handler(request, previous);
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    base: `http://127.0.0.1:${addr.port}`,
    hits,
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    close: () => server.shutdown(),
  };
}
