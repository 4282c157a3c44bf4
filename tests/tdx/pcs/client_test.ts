import { strict as assert } from "node:assert";
import { ParseError, UnavailableError, VerificationError } from "../../../util/errors/mod.ts";
import { CachingFetcher } from "../../../collateral/caching_fetcher.ts";
import { writeToBundle } from "../../../collateral/bundle.ts";
import { SimulatedTdxAuthority } from "../../../testing/tdx/authority.ts";
import {
  cachingFetcherTransport,
  INTEL_ROOT_CA_CRL_URL,
  IntelPcsClient,
  pcsServiceRootCaCrlUrl,
  pcsUrls,
} from "../../../tdx/pcs/client.ts";
import { collateralSourceForDir } from "../../../tdx/pcs/collateral_dir.ts";
import { collateralRequestOf } from "../../../tdx/verifier.ts";
import { parseTdxQuote } from "../../../tdx/quote/parse_quote.ts";
import { verifyTdxQuote } from "../../../tdx/verify/verify_quote.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";
import { withFifo } from "../../collateral/fifo.ts";
import { decodeHex } from "../../../util/bytes/mod.ts";

const authority = await SimulatedTdxAuthority.generate();
const NOW = new Date();
const collateral = await authority.collateral({ now: NOW });
const quote = parseTdxQuote(await authority.createQuote({ reportData: new Uint8Array(64) }));
const request = { ...collateralRequestOf(quote), now: NOW };
const anchors = [await authority.rootFingerprint()];

function body(b: Uint8Array | undefined): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b!);
}

interface Server {
  base: string;
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** A response served once, the first time its path is asked for. */
interface BogusResponse {
  readonly body: Uint8Array;
  readonly headers?: Record<string, string>;
}

function serve(
  options: {
    throttleFirstTcb?: boolean;
    omitChainHeader?: boolean;
    bogusFirst?: Map<string, BogusResponse>;
  } = {},
): Server {
  const hits = new Map<string, number>();
  let throttled = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const key = url.pathname + url.search;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    const bogus = options.bogusFirst?.get(url.pathname);
    if (bogus && hits.get(key) === 1) {
      return new Response(body(bogus.body), { headers: bogus.headers ?? {} });
    }
    const chain = (h: string, pem: string) =>
      options.omitChainHeader ? {} : { [h]: encodeURIComponent(pem) };
    if (url.pathname === "/tdx/certification/v4/tcb") {
      if (options.throttleFirstTcb && !throttled) {
        throttled = true;
        return new Response("slow down", { status: 429, headers: { "Retry-After": "2" } });
      }
      if (url.searchParams.get("fmspc") !== "90C06F000000") {
        return new Response("no", { status: 404 });
      }
      return new Response(body(collateral.tcbInfo), {
        headers: chain("TCB-Info-Issuer-Chain", collateral.tcbInfoIssuerChain),
      });
    }
    if (url.pathname === "/tdx/certification/v4/qe/identity") {
      return new Response(body(collateral.qeIdentity), {
        headers: chain("SGX-Enclave-Identity-Issuer-Chain", collateral.qeIdentityIssuerChain),
      });
    }
    if (
      url.pathname === "/sgx/certification/v4/pckcrl" && url.searchParams.get("ca") === "platform"
    ) {
      return new Response(body(collateral.pckCrl), {
        headers: chain("SGX-PCK-CRL-Issuer-Chain", collateral.pckCrlIssuerChain!),
      });
    }
    if (url.pathname === "/IntelSGXRootCA.der") return new Response(body(collateral.rootCaCrl));
    return new Response("not found", { status: 404 });
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    base: `http://127.0.0.1:${addr.port}`,
    hits,
    close: () => server.shutdown(),
  };
}

function client(base: string, fetcher: CachingFetcher) {
  return new IntelPcsClient({
    transport: cachingFetcherTransport(fetcher, { trustAnchors: anchors }),
    baseUrl: base,
    rootCaCrlUrl: `${base}/IntelSGXRootCA.der`,
  });
}

Deno.test("fetches PCS collateral with issuer-chain headers; concurrent misses merge; 429 is retried after Retry-After", async () => {
  const server = serve({ throttleFirstTcb: true });
  const cacheDir = await Deno.makeTempDir();
  const slept: number[] = [];
  try {
    const fetcher = new CachingFetcher({
      cacheDir,
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });
    const pcs = client(server.base, fetcher);
    const [a, b] = await Promise.all([pcs.collateralFor(request), pcs.collateralFor(request)]);
    assert.deepEqual(a, b);
    assert.equal(server.hits.get("/tdx/certification/v4/tcb?fmspc=90C06F000000"), 2); // 429 + retry
    assert.equal(server.hits.get("/tdx/certification/v4/qe/identity"), 1);
    assert.equal(server.hits.get("/sgx/certification/v4/pckcrl?ca=platform&encoding=der"), 1);
    assert.equal(server.hits.get("/IntelSGXRootCA.der"), 1);
    assert.ok(slept.some((ms) => ms >= 2000), `Retry-After honoured: ${slept}`);
    const v = await verifyTdxQuote(quote, { now: NOW, trustAnchors: anchors, collateral: a });
    assert.equal(v.tcb.status, "UpToDate");

    // Kept until nextUpdate: a second client on the same cache, offline, needs no server.
    const offline = client(server.base, new CachingFetcher({ cacheDir, offline: true }));
    const c = await offline.collateralFor(request);
    assert.deepEqual(c.tcbInfo, collateral.tcbInfo);
    assert.equal(server.hits.get("/tdx/certification/v4/qe/identity"), 1);
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("offline with an empty cache is Unavailable, naming the URL", async () => {
  const pcs = client("http://127.0.0.1:9", new CachingFetcher({ offline: true }));
  await assert.rejects(pcs.collateralFor(request), UnavailableError);
});

Deno.test("a response without its issuer-chain header is Unavailable", async () => {
  const server = serve({ omitChainHeader: true });
  try {
    const pcs = client(server.base, new CachingFetcher({ retries: 0 }));
    await assert.rejects(
      pcs.collateralFor(request),
      (e: unknown) => e instanceof UnavailableError && /issuer-chain/.test(e.message),
    );
  } finally {
    await server.close();
  }
});

Deno.test("an offline by-URL bundle directory serves the same collateral", () =>
  withTempDir(async (dir) => {
    const urls = pcsUrls(request);
    await writeToBundle(dir, urls.tcbInfo, collateral.tcbInfo, {
      "tcb-info-issuer-chain": encodeURIComponent(collateral.tcbInfoIssuerChain),
    });
    await writeToBundle(dir, urls.qeIdentity, collateral.qeIdentity, {
      "sgx-enclave-identity-issuer-chain": encodeURIComponent(collateral.qeIdentityIssuerChain),
    });
    await writeToBundle(dir, urls.pckCrl, collateral.pckCrl!, {
      "sgx-pck-crl-issuer-chain": encodeURIComponent(collateral.pckCrlIssuerChain!),
    });
    await writeToBundle(dir, urls.rootCaCrl, collateral.rootCaCrl!);
    const source = await collateralSourceForDir(dir);
    const c = await source.collateralFor(request);
    const v = await verifyTdxQuote(quote, { now: NOW, trustAnchors: anchors, collateral: c });
    assert.equal(v.tcb.status, "UpToDate");
  }));

Deno.test("a flat collateral directory (conformance layout) is read as one platform's bundle", () =>
  withTempDir(async (dir) => {
    await authority.writeCollateralDir(dir, { now: NOW });
    const c = await (await collateralSourceForDir(dir)).collateralFor(request);
    const v = await verifyTdxQuote(quote, { now: NOW, trustAnchors: anchors, collateral: c });
    assert.equal(v.tcb.status, "UpToDate");
  }));

Deno.test("a flat collateral directory holding a FIFO or an oversized file is refused naming it", () =>
  withTempDir(async (dir) => {
    await authority.writeCollateralDir(dir, { now: NOW });
    await Deno.remove(`${dir}/pck_crl.der`);
    await withFifo(`${dir}/pck_crl.der`, () =>
      assert.rejects(
        collateralSourceForDir(dir),
        (e: unknown) =>
          e instanceof ParseError && e.field === `${dir}/pck_crl.der` &&
          /not a regular file/.test(e.reason),
      ));
    await Deno.remove(`${dir}/pck_crl.der`);
    await Deno.writeFile(`${dir}/qe_identity.json`, new Uint8Array(17 * 1024 * 1024));
    await assert.rejects(
      collateralSourceForDir(dir),
      (e: unknown) => e instanceof ParseError && e.field === `${dir}/qe_identity.json`,
    );
  }));

const TCB_PATH = "/tdx/certification/v4/tcb";
const TCB_KEY = "/tdx/certification/v4/tcb?fmspc=90C06F000000";

/** The TCB info response with one hex digit of its signature changed. */
function withFlippedSignature(json: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(json);
  const key = text.lastIndexOf('"signature"');
  const i = text.indexOf('"', text.indexOf(":", key)) + 1;
  return new TextEncoder().encode(
    text.slice(0, i) + (text[i] === "0" ? "1" : "0") + text.slice(i + 1),
  );
}

/** Runs `fn` against a PCS server whose first answer per path in `bogus` is that response. */
async function withBogusFirst(
  bogus: Map<string, BogusResponse>,
  fn: (server: Server, fetcherFor: () => CachingFetcher) => Promise<void>,
): Promise<void> {
  const server = serve({ bogusFirst: bogus });
  const cacheDir = await Deno.makeTempDir({ prefix: "contrast-pcs-" });
  try {
    await fn(server, () => new CachingFetcher({ cacheDir, retries: 0 }));
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
}

Deno.test("TCB info whose signature does not verify is not cached: the next request gets the genuine one", async () => {
  const bogus = new Map([[TCB_PATH, {
    body: withFlippedSignature(collateral.tcbInfo),
    headers: { "TCB-Info-Issuer-Chain": encodeURIComponent(collateral.tcbInfoIssuerChain) },
  }]]);
  await withBogusFirst(bogus, async (server, fetcherFor) => {
    await assert.rejects(
      client(server.base, fetcherFor()).collateralFor(request),
      (e: unknown) => e instanceof VerificationError && /tcbInfo/.test(e.field),
    );
    const fresh = await client(server.base, fetcherFor()).collateralFor(request);
    assert.deepEqual(fresh.tcbInfo, collateral.tcbInfo);
    assert.equal(server.hits.get(TCB_KEY), 2);
    const v = await verifyTdxQuote(quote, { now: NOW, trustAnchors: anchors, collateral: fresh });
    assert.equal(v.tcb.status, "UpToDate");
  });
});

Deno.test("collateral signed under another root is not cached (TCB info, QE identity, PCK CRL, root CA CRL)", async () => {
  const other = await (await SimulatedTdxAuthority.generate()).collateral({ now: NOW });
  const cases: [string, string, BogusResponse][] = [
    [TCB_PATH, TCB_KEY, {
      body: other.tcbInfo,
      headers: { "TCB-Info-Issuer-Chain": encodeURIComponent(other.tcbInfoIssuerChain) },
    }],
    ["/tdx/certification/v4/qe/identity", "/tdx/certification/v4/qe/identity", {
      body: other.qeIdentity,
      headers: {
        "SGX-Enclave-Identity-Issuer-Chain": encodeURIComponent(other.qeIdentityIssuerChain),
      },
    }],
    ["/sgx/certification/v4/pckcrl", "/sgx/certification/v4/pckcrl?ca=platform&encoding=der", {
      body: other.pckCrl!,
      headers: { "SGX-PCK-CRL-Issuer-Chain": encodeURIComponent(other.pckCrlIssuerChain!) },
    }],
    ["/IntelSGXRootCA.der", "/IntelSGXRootCA.der", { body: other.rootCaCrl! }],
  ];
  for (const [path, key, response] of cases) {
    await withBogusFirst(new Map([[path, response]]), async (server, fetcherFor) => {
      await assert.rejects(
        client(server.base, fetcherFor()).collateralFor(request),
        VerificationError,
        path,
      );
      const fresh = await client(server.base, fetcherFor()).collateralFor(request);
      assert.deepEqual(fresh, await client(server.base, fetcherFor()).collateralFor(request));
      assert.equal(server.hits.get(key), 2, path);
      await verifyTdxQuote(quote, { now: NOW, trustAnchors: anchors, collateral: fresh });
    });
  }
});

Deno.test("genuine TCB info of another FMSPC is not cached under this FMSPC's URL", async () => {
  // Signed by the pinned root, so only the URL tells it is the wrong platform's: cached, it would
  // fail every later verification of this platform until its nextUpdate (30 days), even after the
  // network is honest again.
  const other = await authority.collateral({ now: NOW, fmspc: decodeHex("00906ed50000") });
  const bogus = new Map([[TCB_PATH, {
    body: other.tcbInfo,
    headers: { "TCB-Info-Issuer-Chain": encodeURIComponent(other.tcbInfoIssuerChain) },
  }]]);
  await withBogusFirst(bogus, async (server, fetcherFor) => {
    await assert.rejects(
      client(server.base, fetcherFor()).collateralFor(request),
      (e: unknown) => e instanceof VerificationError && e.field === "tcbInfo.fmspc",
    );
    const fresh = await client(server.base, fetcherFor()).collateralFor(request);
    assert.deepEqual(fresh.tcbInfo, collateral.tcbInfo);
    assert.equal(server.hits.get(TCB_KEY), 2);
    await verifyTdxQuote(quote, { now: NOW, trustAnchors: anchors, collateral: fresh });
  });
});

Deno.test("the PCK CRL of one PCK CA is not cached under the URL of the other", async () => {
  // The Platform CA's genuine CRL answered for ca=processor: cached, a processor-CA platform
  // would find no CRL of its PCK CA until that CRL's nextUpdate.
  const bogus = new Map([["/sgx/certification/v4/pckcrl", {
    body: collateral.pckCrl!,
    headers: { "SGX-PCK-CRL-Issuer-Chain": encodeURIComponent(collateral.pckCrlIssuerChain!) },
  }]]);
  const processor = { ...request, pckCa: "processor" as const };
  const key = "/sgx/certification/v4/pckcrl?ca=processor&encoding=der";
  await withBogusFirst(bogus, async (server, fetcherFor) => {
    await assert.rejects(
      client(server.base, fetcherFor()).collateralFor(processor),
      (e: unknown) => e instanceof VerificationError && e.field === "pckCrl.issuer",
    );
    // Not cached: asked again (this stand-in has no Processor CA, so its answer is 404).
    await assert.rejects(
      client(server.base, fetcherFor()).collateralFor(processor),
      UnavailableError,
    );
    assert.equal(server.hits.get(key), 2);
  });
});

Deno.test("by default the transport accepts only collateral under the pinned Intel root", async () => {
  const server = serve();
  try {
    const pcs = new IntelPcsClient({
      transport: cachingFetcherTransport(new CachingFetcher({ retries: 0 })),
      baseUrl: server.base,
      rootCaCrlUrl: `${server.base}/IntelSGXRootCA.der`,
    });
    await assert.rejects(
      pcs.collateralFor(request),
      (e: unknown) => e instanceof VerificationError && /pinned/.test(e.message),
    );
  } finally {
    await server.close();
  }
});

Deno.test("the root CA CRL comes from Intel's published location for every PCS base URL unless named", () => {
  const fmspc = Uint8Array.of(0x90, 0xc0, 0x6f, 0, 0, 0);
  const r = { fmspc, pckCa: "platform" as const };
  const intel = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";
  assert.equal(INTEL_ROOT_CA_CRL_URL, intel);
  assert.equal(pcsUrls(r).rootCaCrl, intel);
  assert.equal(pcsUrls(r, "https://api.trustedservices.intel.com/").rootCaCrl, intel);
  // A PCCS serves TCB info, QE identity and the PCK CRL, never the root's revocation list.
  const pccs = pcsUrls(r, "https://pccs.example:8081/");
  assert.equal(pccs.rootCaCrl, intel);
  assert.equal(
    pccs.tcbInfo,
    "https://pccs.example:8081/tdx/certification/v4/tcb?fmspc=90C06F000000",
  );
  assert.equal(
    pcsUrls(r, "https://pccs.example", "https://crl.example/root.der").rootCaCrl,
    "https://crl.example/root.der",
  );
  // A simulated authority's stand-in serves its own root's CRL at the PCCS path.
  assert.equal(
    pcsServiceRootCaCrlUrl("https://pccs.example:8081/"),
    "https://pccs.example:8081/sgx/certification/v4/rootcacrl",
  );
});

Deno.test("a failed collateral item is reported only after the other fetches finished (no cache write outlives the call)", async () => {
  let slowDone = false;
  const transport = {
    async get(url: string, kind: string) {
      if (kind === "qeIdentity") throw new UnavailableError(url, "refused by this test");
      await new Promise((r) => setTimeout(r, 50));
      if (kind === "pckCrl") slowDone = true;
      return { body: new Uint8Array(), headers: {} };
    },
  };
  const pcs = new IntelPcsClient({ transport, baseUrl: "https://pcs.invalid" });
  await assert.rejects(pcs.collateralFor(request), UnavailableError);
  assert.equal(slowDone, true, "collateralFor settled while a fetch was still running");
});
