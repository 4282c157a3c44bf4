/**
 * A hostile (or partitioned) API server for deadline tests: it reads requests and leaves them
 * unanswered.
 *
 * @module
 */

/**
 * An HTTP server on 127.0.0.1 that leaves the first `silent` requests (default: all) unanswered
 * until it is closed (then 503 `{}`) and answers later ones with `answer`. `requests()` counts
 * every request it read.
 */
export function unansweringApiServer(
  silent = Infinity,
  answer: (req: Request) => Response = () => new Response("{}", { status: 404 }),
) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (++requests <= silent) {
      await released;
      return new Response("{}", { status: 503 });
    }
    return answer(req);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    close: async () => {
      release();
      await server.shutdown();
    },
  };
}
