import assert from "node:assert/strict";
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import {
  bundlePath,
  CachingFetcher,
  exportCacheToBundle,
  listCache,
  trustDomainOf,
} from "../../collateral/mod.ts";
import { writeToBundle } from "../../collateral/bundle.ts";
import { DiskCache } from "../../collateral/disk_cache.ts";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { parseRetryAfter } from "../../collateral/retry.ts";
import { type LocalServer, startServer } from "./local_server.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { withFifo } from "./fifo.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs `fn` with a temporary directory and a server, cleaning both up. */
async function withServer(
  handler: (request: Request, previousHits: number) => Response | Promise<Response>,
  fn: (server: LocalServer, dir: string) => Promise<void>,
): Promise<void> {
  const server = startServer(handler);
  const dir = await Deno.makeTempDir({ prefix: "contrast-collateral-" });
  try {
    await fn(server, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A sleep that records the delays asked for instead of waiting. */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: (ms) => (delays.push(ms), Promise.resolve()) };
}

Deno.test("a cache hit avoids the network, also for a new fetcher on the same directory", async () => {
  await withServer(
    () => new Response("ASK-ARK chain", { headers: { "x-vendor": "kds" } }),
    async (server, dir) => {
      const url = `${server.base}/vcek/v1/Milan/cert_chain`;
      const fetcher = new CachingFetcher({ cacheDir: dir });
      const first = await fetcher.get(url);
      assert.equal(first.source, "network");
      assert.equal(text(first.body), "ASK-ARK chain");
      assert.equal(first.headers["x-vendor"], "kds");
      const second = await fetcher.get(url);
      assert.equal(second.source, "cache");
      assert.equal(text(second.body), "ASK-ARK chain");
      assert.equal(second.headers["x-vendor"], "kds");
      const third = await new CachingFetcher({ cacheDir: dir }).get(url);
      assert.equal(third.source, "cache");
      assert.equal(server.total(), 1);
    },
  );
});

Deno.test("concurrent misses for the same URL are merged into one request", async () => {
  await withServer(async () => {
    await new Promise((r) => setTimeout(r, 30));
    return new Response("crl bytes");
  }, async (server, dir) => {
    const fetcher = new CachingFetcher({ cacheDir: dir });
    const url = `${server.base}/vcek/v1/Genoa/crl`;
    const results = await Promise.all(Array.from({ length: 12 }, () => fetcher.get(url)));
    assert.equal(server.total(), 1);
    assert.equal(fetcher.networkRequests, 1);
    for (const r of results) assert.equal(text(r.body), "crl bytes");
    // A different URL is a different request.
    await fetcher.get(`${url}?other`);
    assert.equal(server.total(), 2);
  });
});

Deno.test("429 with Retry-After in seconds is honoured before retrying", async () => {
  await withServer(
    (_, n) =>
      n === 0
        ? new Response("slow down", { status: 429, headers: { "retry-after": "3" } })
        : new Response("vcek"),
    async (server) => {
      const { sleep, delays } = recordingSleep();
      const fetcher = new CachingFetcher({ sleep, baseDelayMs: 1, random: () => 0 });
      const r = await fetcher.get(`${server.base}/vcek/v1/Milan/abcd`);
      assert.equal(text(r.body), "vcek");
      assert.deepEqual(delays, [3000]);
      assert.equal(server.total(), 2);
    },
  );
});

Deno.test("503 with Retry-After as an HTTP date is honoured", async () => {
  const now = new Date("2026-01-01T00:00:00Z");
  await withServer((_, n) =>
    n === 0
      ? new Response("", {
        status: 503,
        headers: { "retry-after": new Date(now.getTime() + 2000).toUTCString() },
      })
      : new Response("ok"), async (server) => {
    const { sleep, delays } = recordingSleep();
    const fetcher = new CachingFetcher({ sleep, clock: () => now });
    await fetcher.get(`${server.base}/x`);
    assert.deepEqual(delays, [2000]);
  });
});

Deno.test("a Retry-After longer than allowed fails with the wait asked for", async () => {
  await withServer(
    () => new Response("", { status: 429, headers: { "retry-after": "3600" } }),
    async (server) => {
      const fetcher = new CachingFetcher({
        sleep: () => Promise.resolve(),
        maxRetryAfterMs: 60_000,
      });
      await assert.rejects(fetcher.get(`${server.base}/x`), /retry after 3600 s/);
      assert.equal(server.total(), 1);
    },
  );
});

Deno.test("5xx responses are retried with exponential backoff, then succeed", async () => {
  await withServer(
    (_, n) => n < 2 ? new Response("oops", { status: 500 }) : new Response("tcb"),
    async (server) => {
      const { sleep, delays } = recordingSleep();
      const fetcher = new CachingFetcher({ sleep, baseDelayMs: 100, random: () => 0.999999 });
      const r = await fetcher.get(`${server.base}/tdx/certification/v4/tcb?fmspc=00806F050000`);
      assert.equal(text(r.body), "tcb");
      assert.equal(server.total(), 3);
      assert.deepEqual(delays, [100, 200]);
    },
  );
});

Deno.test("retries stop after the configured number and say why", async () => {
  await withServer(() => new Response("down", { status: 502 }), async (server) => {
    const fetcher = new CachingFetcher({ sleep: () => Promise.resolve(), retries: 2 });
    await assert.rejects(fetcher.get(`${server.base}/x`), (e) => {
      assert.ok(e instanceof UnavailableError);
      assert.match(e.message, /gave up after 3 attempts \(last: HTTP 502\)/);
      return true;
    });
    assert.equal(server.total(), 3);
  });
});

Deno.test("network errors are retried", async () => {
  await withServer(() => new Response("fine"), async (server) => {
    let calls = 0;
    const flaky: typeof fetch = (input, init) => {
      calls++;
      return calls === 1 ? Promise.reject(new TypeError("connection reset")) : fetch(input, init);
    };
    const fetcher = new CachingFetcher({ fetch: flaky, sleep: () => Promise.resolve() });
    assert.equal(text((await fetcher.get(`${server.base}/x`)).body), "fine");
    assert.equal(calls, 2);
  });
});

Deno.test("404 is final: no retry, UnavailableError naming the URL", async () => {
  await withServer(() => new Response("no such VCEK", { status: 404 }), async (server, dir) => {
    const fetcher = new CachingFetcher({ cacheDir: dir, sleep: () => Promise.resolve() });
    const url = `${server.base}/vcek/v1/Milan/ffff`;
    await assert.rejects(fetcher.get(url), (e) => {
      assert.ok(e instanceof UnavailableError);
      assert.equal(e.field, url);
      assert.match(e.reason, /404/);
      return true;
    });
    assert.equal(server.total(), 1);
  });
});

Deno.test("other 4xx are final too", async () => {
  await withServer(() => new Response("", { status: 400 }), async (server) => {
    const fetcher = new CachingFetcher({ sleep: () => Promise.resolve() });
    await assert.rejects(fetcher.get(`${server.base}/x`), /HTTP 400/);
    assert.equal(server.total(), 1);
  });
});

Deno.test("offline miss names the URL and every place it looked, and never fetches", () =>
  withTempDir(async (dir) => {
    let fetched = false;
    const fetcher = new CachingFetcher({
      cacheDir: `${dir}/cache`,
      importDirs: [`${dir}/bundle`],
      offline: true,
      fetch: () => (fetched = true, Promise.reject(new Error("no"))),
    });
    const url = "https://kdsintf.amd.com/vcek/v1/Milan/crl";
    await assert.rejects(fetcher.get(url), (e) => {
      assert.ok(e instanceof UnavailableError);
      assert.equal(e.field, url);
      assert.match(e.reason, /offline and not available/);
      assert.ok(e.reason.includes(`${dir}/cache/`), e.reason);
      assert.ok(e.reason.includes(`${dir}/bundle/kdsintf.amd.com/vcek/v1/Milan/crl`), e.reason);
      return true;
    });
    assert.equal(fetched, false);
  }));

Deno.test("an import directory is served offline, headers included", () =>
  withTempDir(async (dir) => {
    const url = "https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=B0C06F000000";
    await writeToBundle(dir, url, new TextEncoder().encode('{"tcbInfo":{}}'), {
      "TCB-Info-Issuer-Chain": "pem%20chain",
    });
    const fetcher = new CachingFetcher({
      importDirs: [`${dir}/missing`, dir],
      offline: true,
      fetch: () => Promise.reject(new Error("network must not be used")),
    });
    const r = await fetcher.get(url);
    assert.equal(r.source, "import");
    assert.equal(text(r.body), '{"tcbInfo":{}}');
    assert.equal(r.headers["tcb-info-issuer-chain"], "pem%20chain");
  }));

Deno.test("an expired entry is refetched online and still served offline", async () => {
  let now = new Date("2026-01-01T00:00:00Z");
  await withServer((_, n) => new Response(`crl v${n}`), async (server, dir) => {
    const url = `${server.base}/vcek/v1/Milan/crl`;
    const validUntil = () => new Date("2026-01-02T00:00:00Z");
    const fetcher = new CachingFetcher({ cacheDir: dir, clock: () => now });
    assert.equal(text((await fetcher.get(url, { validUntil })).body), "crl v0");
    now = new Date("2026-01-01T23:00:00Z");
    assert.equal((await fetcher.get(url, { validUntil })).source, "cache");
    now = new Date("2026-01-02T00:00:01Z");
    const offline = new CachingFetcher({ cacheDir: dir, clock: () => now, offline: true });
    const stale = await offline.get(url, { validUntil });
    assert.equal(stale.source, "cache");
    assert.equal(text(stale.body), "crl v0");
    const fresh = await fetcher.get(url, { validUntil });
    assert.equal(fresh.source, "network");
    assert.equal(text(fresh.body), "crl v1");
    assert.equal(server.total(), 2);
  });
});

Deno.test("a corrupt cache file is detected and refetched", async () => {
  await withServer(() => new Response("genuine bytes"), async (server, dir) => {
    const url = `${server.base}/vcek/v1/Turin/cert_chain`;
    const fetcher = new CachingFetcher({ cacheDir: dir });
    await fetcher.get(url);
    const path = await new DiskCache(dir).pathOf(url);
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 1]! ^= 0x20; // alter the body
    await Deno.writeFile(path, bytes);
    assert.equal((await new DiskCache(dir).read(url)).kind, "corrupt");
    const r = await fetcher.get(url);
    assert.equal(r.source, "network");
    assert.equal(text(r.body), "genuine bytes");
    assert.equal(server.total(), 2);
    // Truncation is detected as well.
    await Deno.writeFile(path, (await Deno.readFile(path)).subarray(0, 40));
    assert.equal((await new DiskCache(dir).read(url)).kind, "corrupt");
  });
});

Deno.test("a response whose validUntil callback throws is not cached", async () => {
  await withServer(() => new Response("<html>proxy error</html>"), async (server, dir) => {
    const fetcher = new CachingFetcher({ cacheDir: dir });
    const url = `${server.base}/crl`;
    const validUntil = () => {
      throw new Error("not a CRL");
    };
    await assert.rejects(fetcher.get(url, { validUntil }), /not a CRL/);
    assert.equal((await new DiskCache(dir).read(url)).kind, "missing");
  });
});

Deno.test("responses larger than the limit are refused", async () => {
  await withServer(() => new Response(new Uint8Array(5000)), async (server) => {
    const fetcher = new CachingFetcher({ maxBodyBytes: 1000 });
    await assert.rejects(fetcher.get(`${server.base}/big`), /exceeds 1000/);
  });
});

Deno.test("exportBundle writes what an offline fetcher then serves", async () => {
  await withServer(
    () => new Response("chain", { headers: { "sgx-pck-crl-issuer-chain": "x" } }),
    async (server, dir) => {
      const url = `${server.base}/sgx/certification/v4/pckcrl?ca=platform&encoding=der`;
      const online = new CachingFetcher({ cacheDir: `${dir}/cache` });
      const [path] = await online.exportBundle(`${dir}/bundle`, [url]);
      assert.ok(path!.endsWith("/sgx/certification/v4/pckcrl%3Fca%3Dplatform%26encoding%3Dder"));
      const offline = new CachingFetcher({ offline: true, importDirs: [`${dir}/bundle`] });
      const r = await offline.get(url);
      assert.equal(r.source, "import");
      assert.equal(r.headers["sgx-pck-crl-issuer-chain"], "x");
    },
  );
});

Deno.test("bundlePath maps vendor URLs to safe paths and defuses traversal", () => {
  assert.equal(
    bundlePath("/b", "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain"),
    "/b/kdsintf.amd.com/vcek/v1/Milan/cert_chain",
  );
  assert.equal(
    bundlePath("/b/", "https://kdsintf.amd.com/vcek/v1/Turin/3b42?ucodeSPL=71&snpSPL=2"),
    "/b/kdsintf.amd.com/vcek/v1/Turin/3b42%3FucodeSPL%3D71%26snpSPL%3D2",
  );
  assert.equal(bundlePath("/b", "http://127.0.0.1:8080/a"), "/b/127.0.0.1%3A8080/a");
  // The URL parser resolves dot segments (also percent-encoded ones) inside the host's tree.
  assert.equal(bundlePath("/b", "https://h/a/%2E%2E/%2e%2e/x"), "/b/h/x");
  // A segment that only decodes to ".." stays encoded.
  assert.equal(bundlePath("/b", "https://h/a/%252E%252E/x"), "/b/h/a/%252E%252E/x");
  assert.equal(bundlePath("/b", "https://h/a%2Fb"), "/b/h/a%2Fb");
  assert.throws(() => bundlePath("/b", "file:///etc/passwd"), /only http/);
  assert.throws(() => bundlePath("/b", "not a url"), /not a URL/);
});

Deno.test("parseRetryAfter reads seconds and HTTP dates", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("0", now), 0);
  assert.equal(parseRetryAfter("120", now), 120_000);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-1", now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
  // The other two HTTP-date forms; what is no HTTP-date (Date.parse would take it) is ignored.
  assert.equal(parseRetryAfter("Thursday, 01-Jan-26 00:00:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("Thu Jan  1 00:00:05 2026", now), 5000);
  assert.equal(parseRetryAfter("2026-01-01T00:00:05Z", now), undefined);
  assert.equal(parseRetryAfter("January 1, 2026 00:00:05 GMT", now), undefined);
});

Deno.test("cache files with a bad magic, bad metadata or another key are corrupt", () =>
  withTempDir(async (dir) => {
    const cache = new DiskCache(dir);
    const url = "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain";
    await cache.write({
      key: url,
      url,
      fetchedAt: new Date(),
      headers: {},
      body: Uint8Array.of(1),
    });
    assert.equal((await cache.read(url)).kind, "hit");
    const path = await cache.pathOf(url);
    const good = await Deno.readFile(path);
    const text = new TextDecoder().decode(good);
    const cases: [string, Uint8Array][] = [
      ["bad magic line", new TextEncoder().encode("junk\n{}\n")],
      ["metadata is not JSON", new TextEncoder().encode(text.replace(/\{.*\}/, "{oops"))],
      ["another key", new TextEncoder().encode(text.replace(`"key":"${url}"`, '"key":"other"'))],
      ["wrong shape", new TextEncoder().encode(text.replace(/"bodyLength":1/, '"bodyLength":"1"'))],
    ];
    for (const [label, bytes] of cases) {
      await Deno.writeFile(path, bytes);
      const read = await cache.read(url);
      assert.equal(read.kind, "corrupt", label);
    }
  }));

Deno.test("sends the user agent, Accept and extra headers; extra headers are not stored", async () => {
  let seen: Headers | undefined;
  await withServer(
    (request) => (seen = request.headers, new Response("ok")),
    async (server, dir) => {
      const fetcher = new CachingFetcher({ cacheDir: dir, userAgent: "contrast-test/1" });
      const url = `${server.base}/sgx/certification/v4/pckcert`;
      await fetcher.get(url, {
        accept: "application/x-pem-file",
        headers: { "ocp-apim-subscription-key": "secret-key" },
      });
      assert.equal(seen?.get("user-agent"), "contrast-test/1");
      assert.equal(seen?.get("accept"), "application/x-pem-file");
      assert.equal(seen?.get("ocp-apim-subscription-key"), "secret-key");
      for await (const entry of Deno.readDir(dir)) {
        const stored = await Deno.readTextFile(`${dir}/${entry.name}`);
        assert.ok(!stored.includes("secret-key"));
      }
    },
  );
});

Deno.test("an import directory is preferred to the network when online too", async () => {
  await withServer(() => new Response("from network"), async (server, dir) => {
    const url = `${server.base}/vcek/v1/Milan/cert_chain`;
    await writeToBundle(`${dir}/bundle`, url, new TextEncoder().encode("from bundle"));
    const fetcher = new CachingFetcher({ importDirs: [`${dir}/bundle`] });
    const r = await fetcher.get(url);
    assert.equal(r.source, "import");
    assert.equal(text(r.body), "from bundle");
    assert.equal(server.total(), 0);
    // A URL the bundle does not hold goes to the network.
    assert.equal((await fetcher.get(`${url}x`)).source, "network");
  });
});

Deno.test("a bundle path that is a directory counts as missing", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/kdsintf.amd.com/vcek/v1/Milan`, { recursive: true });
    const fetcher = new CachingFetcher({ importDirs: [dir], offline: true });
    await assert.rejects(fetcher.get("https://kdsintf.amd.com/vcek/v1/Milan"), UnavailableError);
  }));

Deno.test("a cache directory that cannot be written costs the cache, not the response", async () => {
  await withServer(() => new Response("served"), async (server, dir) => {
    const notADir = `${dir}/file`;
    await Deno.writeTextFile(notADir, "x");
    const fetcher = new CachingFetcher({ cacheDir: notADir });
    const r = await fetcher.get(`${server.base}/x`);
    assert.equal(text(r.body), "served");
    assert.equal(fetcher.cacheWriteErrors.length, 1);
    assert.ok(fetcher.cacheWriteErrors[0]!.startsWith(`${server.base}/x: `));
  });
});

Deno.test("a network response that fails the verify hook is not cached and its error propagates", async () => {
  await withServer(
    (_request, previousHits) => new Response(previousHits === 0 ? "bogus" : "genuine"),
    async (server, dir) => {
      const url = `${server.base}/vcek/v1/Milan/cert_chain`;
      const fetcher = new CachingFetcher({ cacheDir: dir });
      const seen: string[] = [];
      const verify = (body: Uint8Array) => {
        seen.push(text(body));
        if (text(body) !== "genuine") throw new Error("signature does not verify");
        return Promise.resolve();
      };
      await assert.rejects(fetcher.get(url, { verify }), /signature does not verify/);
      // Nothing was stored: the next call goes to the network again and gets the genuine body.
      const second = await fetcher.get(url, { verify });
      assert.equal(second.source, "network");
      assert.equal(text(second.body), "genuine");
      assert.deepEqual(seen, ["bogus", "genuine"]);
      const third = await new CachingFetcher({ cacheDir: dir }).get(url, { verify });
      assert.equal(third.source, "cache");
      assert.equal(text(third.body), "genuine");
      assert.equal(server.total(), 2);
    },
  );
});

Deno.test("the verify hook runs before validUntil and sees the response headers", async () => {
  await withServer(
    () => new Response("body", { headers: { "x-issuer-chain": "chain" } }),
    async (server, dir) => {
      const calls: string[] = [];
      const fetcher = new CachingFetcher({ cacheDir: dir });
      await fetcher.get(`${server.base}/crl`, {
        verify: (_body, headers) => {
          calls.push(`verify ${headers["x-issuer-chain"]}`);
          return Promise.resolve();
        },
        validUntil: () => {
          calls.push("validUntil");
          return undefined;
        },
      });
      assert.deepEqual(calls, ["verify chain", "validUntil"]);
    },
  );
});

Deno.test("without a cache directory a failing verify hook still rejects the response", async () => {
  await withServer(() => new Response("bogus"), async (server) => {
    const fetcher = new CachingFetcher();
    await assert.rejects(
      fetcher.get(`${server.base}/x`, { verify: () => Promise.reject(new Error("rejected")) }),
      /rejected/,
    );
  });
});

Deno.test("trust domains: entries and concurrent requests of different roots stay apart; an export keeps one per URL", async () => {
  let n = 0;
  await withServer(async () => {
    await new Promise((r) => setTimeout(r, 20));
    return new Response(`answer ${++n}`);
  }, async (server, dir) => {
    const url = `${server.base}/tdx/certification/v4/qe/identity`;
    const simulated = trustDomainOf(["BB".repeat(32), "aa".repeat(32)]);
    assert.equal(simulated, `roots=${"aa".repeat(32)},${"bb".repeat(32)}`);
    const vendor = trustDomainOf(["cc".repeat(32)]);
    const fetcher = new CachingFetcher({ cacheDir: `${dir}/cache` });
    // Concurrent requests of two domains are two requests, never one merged answer.
    const [a, b] = await Promise.all([
      fetcher.get(url, { trustDomain: simulated }),
      fetcher.get(url, { trustDomain: vendor }),
    ]);
    assert.notEqual(text(a.body), text(b.body));
    assert.equal(server.total(), 2);
    // Each domain reads only its own entry, offline too; an unnamed domain reads neither.
    const offline = new CachingFetcher({ cacheDir: `${dir}/cache`, offline: true });
    assert.equal(text((await offline.get(url, { trustDomain: simulated })).body), text(a.body));
    assert.equal(text((await offline.get(url, { trustDomain: vendor })).body), text(b.body));
    await assert.rejects(offline.get(url), UnavailableError);
    const listed = await listCache(`${dir}/cache`);
    assert.deepEqual(listed.map((e) => e.trustDomain).sort(), [simulated, vendor].sort());
    // A bundle holds one response per URL: the second domain's entry is left out, saying why.
    const exported = await exportCacheToBundle(`${dir}/cache`, `${dir}/bundle`);
    assert.equal(exported.written.length, 1);
    assert.equal(exported.skipped.length, 1);
    assert.match(
      exported.skipped[0]!.reason,
      /already exported for roots=.*verified against roots=/,
    );
  });
});

Deno.test("a FIFO at a cache entry's path is corrupt and replaced, never opened (a read would block forever)", async () => {
  await withServer(() => new Response("genuine bytes"), async (server, dir) => {
    const url = `${server.base}/vcek/v1/Milan/crl`;
    const path = await new DiskCache(dir).pathOf(url);
    await withFifo(path, async () => {
      const read = await new DiskCache(dir).read(url);
      assert.equal(read.kind, "corrupt");
      assert.match(read.kind === "corrupt" ? read.reason : "", /not a regular file/);
      const r = await new CachingFetcher({ cacheDir: dir }).get(url);
      assert.equal(r.source, "network");
      assert.equal(text(r.body), "genuine bytes");
    });
    assert.ok((await Deno.lstat(path)).isFile, "the FIFO was replaced by the fetched entry");
  });
});

Deno.test("a cache entry larger than the body limit is corrupt, not served", async () => {
  await withServer(() => new Response("small"), async (server, dir) => {
    const url = `${server.base}/vcek/v1/Genoa/crl`;
    // A well-formed entry (right key, length and hash) whose body is over the limit.
    await new DiskCache(dir).write({
      key: url,
      url,
      fetchedAt: new Date(),
      headers: {},
      body: new Uint8Array(2 * 1024 * 1024),
    });
    const bigUrl = `${server.base}/vcek/v1/Turin/crl`;
    await new DiskCache(dir).write({
      key: bigUrl,
      url: bigUrl,
      fetchedAt: new Date(),
      headers: {},
      body: new Uint8Array(5000),
    });
    const fetcher = new CachingFetcher({ cacheDir: dir, maxBodyBytes: 1000 });
    const read = await new DiskCache(dir, 1000).read(url);
    assert.match(read.kind === "corrupt" ? read.reason : read.kind, /more than the \d+ allowed/);
    const r = await fetcher.get(url);
    assert.equal(r.source, "network");
    assert.equal(text(r.body), "small");
    // A file within the entry size, but its body over the limit: corrupt as well.
    const big = await new DiskCache(dir, 1000).read(bigUrl);
    assert.match(big.kind === "corrupt" ? big.reason : big.kind, /5000 bytes, more than/);
    assert.equal((await fetcher.get(bigUrl)).source, "network");
  });
});

Deno.test("a bundle file that is a FIFO or larger than the body limit is refused, naming the file", () =>
  withTempDir(async (dir) => {
    const fifoUrl = "https://kdsintf.amd.com/vcek/v1/Milan/crl";
    const bigUrl = "https://kdsintf.amd.com/vcek/v1/Genoa/crl";
    await Deno.mkdir(`${dir}/kdsintf.amd.com/vcek/v1/Milan`, { recursive: true });
    await writeToBundle(dir, bigUrl, new Uint8Array(5000));
    const fetcher = new CachingFetcher({ importDirs: [dir], offline: true, maxBodyBytes: 1000 });
    await withFifo(bundlePath(dir, fifoUrl), () =>
      assert.rejects(
        fetcher.get(fifoUrl),
        (e: unknown) =>
          e instanceof ParseError && e.field === bundlePath(dir, fifoUrl) &&
          /not a regular file/.test(e.reason),
      ));
    await assert.rejects(
      fetcher.get(bigUrl),
      (e: unknown) =>
        e instanceof ParseError && e.field === bundlePath(dir, bigUrl) &&
        /5000 bytes, more than the 1000 allowed/.test(e.reason),
    );
    // A FIFO as the headers file of a regular body is refused as well.
    const headersUrl = "https://kdsintf.amd.com/vcek/v1/Turin/crl";
    await writeToBundle(dir, headersUrl, new Uint8Array(10));
    await withFifo(
      `${bundlePath(dir, headersUrl)}.headers.json`,
      () => assert.rejects(fetcher.get(headersUrl), /headers file refused: not a regular file/),
    );
  }));

Deno.test("network lookups beyond the limit fail at once without a request; slots free again after success or failure", async () => {
  const asked: string[] = [];
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  const fetcher = new CachingFetcher({
    maxConcurrentNetworkLookups: 1,
    retries: 0,
    fetch: async (input) => {
      const url = String(input);
      asked.push(url);
      if (url.endsWith("/slow")) await held;
      return url.endsWith("/missing")
        ? new Response("no", { status: 404 })
        : new Response(new TextEncoder().encode(url));
    },
  });
  const slow = fetcher.get("https://vendor.example/slow");
  // The same URL joins the lookup in flight; another one is refused without a request.
  const joined = fetcher.get("https://vendor.example/slow");
  await assert.rejects(
    fetcher.get("https://vendor.example/other"),
    (e: unknown) =>
      e instanceof UnavailableError && e.field === "https://vendor.example/other" &&
      /already in flight \(limit 1\)/.test(e.message),
  );
  assert.deepEqual(asked, ["https://vendor.example/slow"]);
  release();
  assert.equal(text((await slow).body), "https://vendor.example/slow");
  assert.equal(await joined, await slow);
  await assert.rejects(fetcher.get("https://vendor.example/missing"), UnavailableError);
  assert.equal(
    text((await fetcher.get("https://vendor.example/other")).body),
    "https://vendor.example/other",
  );
  assert.equal(fetcher.networkRequests, 3);
});

Deno.test("deferCacheWrite: a network response reaches the disk cache only when kept", () =>
  withTempDir(async (cacheDir) => {
    let requests = 0;
    const fetch = () => {
      requests++;
      return Promise.resolve(new Response("vcek"));
    };
    const url = "https://vendor.example/vcek";
    const fetcher = new CachingFetcher({ cacheDir, fetch });
    const first = await fetcher.get(url, { deferCacheWrite: true });
    assert.equal(first.source, "network");
    assert.equal((await fetcher.get(url, { deferCacheWrite: true })).source, "network");
    assert.equal(requests, 2, "not kept: asked again");
    await first.keep!();
    const cached = await fetcher.get(url, { deferCacheWrite: true });
    assert.equal(cached.source, "cache");
    assert.equal(cached.keep, undefined);
    assert.equal(requests, 2);
  }));

Deno.test("a disk cache names each key's file by the key's SHA-256, remembered or not", async () => {
  const cache = new DiskCache("/tmp/contrast-paths/");
  const nameOf = async (key: string) =>
    `/tmp/contrast-paths/${encodeHex(await sha256(new TextEncoder().encode(key)))}.entry`;
  const keys = Array.from({ length: 1100 }, (_, i) => `https://kds.example/crl/${i}`);
  for (const key of keys) assert.equal(await cache.pathOf(key), await nameOf(key));
  // Asked again (remembered, or forgotten past the bound and derived again): the same names.
  for (const key of [keys[0]!, keys[1099]!, keys[500]!]) {
    assert.equal(await cache.pathOf(key), await nameOf(key));
    assert.equal(await cache.pathOf(key), await new DiskCache("/tmp/contrast-paths").pathOf(key));
  }
});

/** A settable clock for the memory layer's tests. */
function manualClock(start: Date): { clock: () => Date; advance: (ms: number) => void } {
  let now = start.getTime();
  return { clock: () => new Date(now), advance: (ms) => void (now += ms) };
}

/** Removes every file of the disk cache under `dir` (what an operator clearing the cache does). */
async function clearDiskCache(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    await Deno.remove(`${dir}/${entry.name}`, { recursive: true });
  }
}

Deno.test("memory layer: an entry read from disk is served from memory for memoryTtlMs, then the disk is read again", async () => {
  await withServer(
    (_r, hits) => new Response(`chain ${hits}`),
    async (server, dir) => {
      const url = `${server.base}/vcek/v1/Milan/cert_chain`;
      const time = manualClock(new Date("2026-06-01T00:00:00Z"));
      const fetcher = new CachingFetcher({ cacheDir: dir, clock: time.clock, memoryTtlMs: 5_000 });
      assert.equal((await fetcher.get(url)).source, "network");
      assert.equal(text((await fetcher.get(url)).body), "chain 0"); // from disk, now in memory
      await clearDiskCache(dir);
      time.advance(4_000);
      const remembered = await fetcher.get(url);
      assert.equal(remembered.source, "cache");
      assert.equal(text(remembered.body), "chain 0");
      assert.equal(server.total(), 1);
      time.advance(1_001); // past the interval: the disk is read, finds nothing, fetches again
      const refetched = await fetcher.get(url);
      assert.equal(refetched.source, "network");
      assert.equal(text(refetched.body), "chain 1");
      assert.equal(server.total(), 2);
    },
  );
});

Deno.test("memory layer: an entry is never served past its validUntil, whatever the interval", async () => {
  await withServer(
    (_r, hits) => new Response(`crl ${hits}`),
    async (server, dir) => {
      const url = `${server.base}/vcek/v1/Milan/crl`;
      const time = manualClock(new Date("2026-06-01T00:00:00Z"));
      const fetcher = new CachingFetcher({ cacheDir: dir, clock: time.clock, memoryTtlMs: 60_000 });
      const validUntil = () => new Date(time.clock().getTime() + 2_000);
      await fetcher.get(url, { validUntil });
      assert.equal((await fetcher.get(url, { validUntil })).source, "cache");
      time.advance(2_001);
      const after = await fetcher.get(url, { validUntil });
      assert.equal(after.source, "network");
      assert.equal(text(after.body), "crl 1");
    },
  );
});

Deno.test("memory layer: every caller gets its own copy; changing it changes nothing kept", async () => {
  await withServer(
    () => new Response("ARK", { headers: { "x-vendor": "kds" } }),
    async (server, dir) => {
      const url = `${server.base}/vcek/v1/Milan/cert_chain`;
      const fetcher = new CachingFetcher({ cacheDir: dir });
      await fetcher.get(url);
      const first = await fetcher.get(url); // read from disk and kept
      first.body.fill(0x58);
      first.headers["x-vendor"] = "attacker";
      const second = await fetcher.get(url); // from memory
      second.body.fill(0x59);
      second.headers["x-vendor"] = "attacker";
      const third = await fetcher.get(url);
      assert.equal(text(third.body), "ARK");
      assert.equal(third.headers["x-vendor"], "kds");
      assert.equal(server.total(), 1);
    },
  );
});

Deno.test("memory layer: memoryTtlMs 0 reads the disk every time (a cleared cache is seen at once)", async () => {
  await withServer(
    (_r, hits) => new Response(`chain ${hits}`),
    async (server, dir) => {
      const url = `${server.base}/vcek/v1/Milan/cert_chain`;
      const fetcher = new CachingFetcher({ cacheDir: dir, memoryTtlMs: 0 });
      await fetcher.get(url);
      assert.equal((await fetcher.get(url)).source, "cache");
      await clearDiskCache(dir);
      assert.equal((await fetcher.get(url)).source, "network");
      assert.equal(server.total(), 2);
    },
  );
});

Deno.test("memory layer: at most 4 MiB of bodies kept (oldest dropped first), a larger body not kept at all", async () => {
  // The disk cache's contents are the host's: entries of up to the body limit (16 MiB) read once
  // each must not all stay in memory for the interval (256 of them: 4 GiB).
  const MiB = 1024 * 1024;
  const sizes: Record<string, number> = { big: 5 * MiB };
  for (let i = 0; i < 6; i++) sizes[`e${i}`] = 1.5 * MiB;
  await withServer(
    (request) => {
      const name = new URL(request.url).pathname.slice(1);
      return new Response(new Uint8Array(sizes[name]!).fill(name.charCodeAt(name.length - 1)));
    },
    async (server, dir) => {
      const fetcher = new CachingFetcher({ cacheDir: dir, memoryTtlMs: 60_000 });
      const names = Object.keys(sizes);
      for (const name of names) await fetcher.get(`${server.base}/${name}`); // network, to disk
      for (const name of names) await fetcher.get(`${server.base}/${name}`); // disk, kept
      await clearDiskCache(dir);
      let keptBytes = 0;
      const fromMemory: string[] = [];
      for (const name of [...names].reverse()) {
        const again = await fetcher.get(`${server.base}/${name}`);
        assert.equal(again.body.length, sizes[name]);
        if (again.source === "cache") {
          fromMemory.push(name);
          keptBytes += again.body.length;
        }
      }
      assert.ok(keptBytes <= 4 * MiB, `${keptBytes} bytes served from memory (${fromMemory})`);
      assert.deepEqual(fromMemory, ["e5", "e4"]); // the newest that fit
    },
  );
});
