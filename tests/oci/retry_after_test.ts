import assert from "node:assert/strict";
import { RegistryClient } from "../../oci/registry_client.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;
/** The client's clock: Sun, 06 Nov 1994 08:49:37 GMT. */
const NOW = Date.UTC(1994, 10, 6, 8, 49, 37);

/**
 * The waits a client makes before its retries when a registry answers 503 with each of
 * `retryAfters` (null: no header) and then 200.
 */
async function waitsFor(retryAfters: readonly (string | null)[]): Promise<number[]> {
  let answered = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const value = retryAfters[answered++];
    if (value === undefined) return new Response(null, { status: 200 });
    const headers = value === null ? undefined : { "Retry-After": value };
    return new Response(null, { status: 503, headers });
  });
  const host = `127.0.0.1:${server.addr.port}`;
  const waits: number[] = [];
  const client = new RegistryClient({
    insecureRegistries: [host],
    retries: retryAfters.length,
    retryBaseMs: 100,
    wait: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    now: () => NOW,
  });
  try {
    assert.equal(await client.hasBlob({ registry: host, repository: "r/a" }, DIGEST, "blob"), true);
    assert.equal(answered, retryAfters.length + 1);
    return waits;
  } finally {
    await server.shutdown();
  }
}

Deno.test("Retry-After in seconds is honoured up to 10 s", async () => {
  assert.deepEqual(await waitsFor(["7", "0", "999999"]), [7000, 0, 10_000]);
});

Deno.test("Retry-After as an HTTP-date, in all three forms, is honoured up to 10 s", async () => {
  // Before, only seconds were read: a date was NaN and the backoff (100, 200, 400...) applied.
  assert.deepEqual(
    await waitsFor([
      "Sun, 06 Nov 1994 08:49:40 GMT", // IMF-fixdate, 3 s ahead
      "Sunday, 06-Nov-94 08:49:42 GMT", // RFC 850, 5 s ahead
      "Sun Nov  6 08:49:38 1994", // asctime, 1 s ahead
      "Sun, 06 Nov 1994 09:49:37 GMT", // an hour ahead: clamped
      "Sun, 06 Nov 1994 08:00:00 GMT", // past: at once
    ]),
    [3000, 5000, 1000, 10_000, 0],
  );
});

Deno.test("an unreadable Retry-After is ignored: the backoff applies", async () => {
  // Before, "1.5" waited 1.5 s (Number() accepts it; RFC 9110 does not).
  assert.deepEqual(
    await waitsFor(["1.5", "-1", "soon", "Sun, 31 Feb 1994 08:49:40 GMT", null]),
    [100, 200, 400, 800, 1600],
  );
});
