/**
 * Answers of a hostile registry or token endpoint that never end (or are huge) are read only up
 * to a bound: a token answer past 1 MiB is refused, an error answer is read for its first 64 KiB
 * only. Before, both were read whole into memory (`response.text()`).
 */
import assert from "node:assert/strict";
import { NotFoundError, ParseError } from "../../util/errors/mod.ts";
import { fetchBearerToken } from "../../oci/auth.ts";
import { RegistryClient } from "../../oci/registry_client.ts";

const CHUNK = 64 * 1024;
const TOTAL = 64 * 1024 * 1024;

/** A body of `prefix`, `TOTAL` bytes of `a`, then `suffix`, produced only as it is read. */
function paddedBody(prefix: string, suffix: string, counter: { sent: number }) {
  const encoder = new TextEncoder();
  const filler = new Uint8Array(CHUNK).fill(0x61);
  let started = false;
  let done = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(prefix));
      } else if (counter.sent < TOTAL) {
        counter.sent += CHUNK;
        controller.enqueue(filler);
      } else if (!done) {
        done = true;
        controller.enqueue(encoder.encode(suffix));
      } else controller.close();
    },
  }, { highWaterMark: 0 });
}

function serve(handler: (url: URL) => Response) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => handler(new URL(req.url)),
  );
  return { origin: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

Deno.test("a token endpoint's answer larger than 1 MiB is refused", async () => {
  const counter = { sent: 0 };
  const server = serve(() =>
    new Response(paddedBody('{"token":"planted","pad":"', '"}', counter), {
      headers: { "content-type": "application/json" },
    })
  );
  try {
    await assert.rejects(
      fetchBearerToken({
        challenge: {
          scheme: "bearer",
          params: new Map([["realm", `${server.origin}/token`]]),
        },
        scope: "repository:app:pull",
        allowHttp: true,
        timeoutMs: 30_000,
      }),
      (e: unknown) => e instanceof ParseError && /more than 1048576 bytes/.test(e.message),
    );
    assert.ok(counter.sent < 16 * 1024 * 1024, `read ${counter.sent} bytes`);
  } finally {
    await server.stop();
  }
});

Deno.test("a registry's error answer is read for its first 64 KiB only", async () => {
  const counter = { sent: 0 };
  const server = serve(() =>
    new Response(
      paddedBody('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"', '"}]}', counter),
      { status: 404, headers: { "content-type": "application/json" } },
    )
  );
  const host = server.origin.slice("http://".length);
  const client = new RegistryClient({ insecureRegistries: [host], retries: 0 });
  try {
    await assert.rejects(
      client.getManifest({ registry: host, repository: "app" }, "v1", "image app:v1"),
      (e: unknown) => e instanceof NotFoundError && /HTTP 404/.test(e.message),
    );
    assert.ok(counter.sent < 16 * 1024 * 1024, `read ${counter.sent} bytes of the error answer`);
  } finally {
    await server.stop();
  }
});
