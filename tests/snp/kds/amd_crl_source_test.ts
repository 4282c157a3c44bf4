/**
 * Where SNP verification takes AMD's CRL when a KDS proxy (a caching mirror, `--kds-url`) serves
 * the chain and VCEKs: from AMD's KDS (`https://kdsintf.amd.com/vcek/v1/<product>/crl`), never
 * from the proxy, which could replay an older, still valid CRL that omits a revocation, unless the
 * user names another CRL service (`--amd-crl-url`). The KDS stand-in (`testing/snp/kds_stand_in.ts`)
 * plays the proxy, holding the CRL it cached before the ASK was revoked; AMD's KDS is answered by
 * the fetcher's injected `fetch`, so nothing leaves the machine. The simulated authority plays
 * AMD (the client trusts its root), so every signature and chain is checked for real.
 */
import assert from "node:assert/strict";
import { UnavailableError, ValidationError, VerificationError } from "../../../util/errors/mod.ts";
import { CachingFetcher, exportCacheToBundle } from "../../../collateral/mod.ts";
import { AmdKdsClient } from "../../../snp/kds/client.ts";
import { AMD_KDS_BASE_URL, crlUrl } from "../../../snp/kds/urls.ts";
import { SnpEvidenceVerifier } from "../../../snp/verifier.ts";
import type { SimulatedSnpAuthority } from "../../../testing/snp/mod.ts";
import { startKdsStandIn } from "../../../testing/snp/kds_stand_in.ts";
import { manifestVerifiersWithCollateral } from "../../../manifest/collateral_config.ts";
import { parseManifest } from "../../../manifest/manifest.ts";
import { TEST_REFERENCE_VALUES } from "../../policy/fixtures.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";
import { sharedAuthority } from "../simulated_fixture.ts";
import { startVendorStandIn } from "../../../testing/vendor_stand_in.ts";
import { conformanceTest, readConformance } from "../../conformance.ts";

const authority = await sharedAuthority("Milan");
const AMD_CRL = crlUrl("Milan", "VCEK", AMD_KDS_BASE_URL);
const PROXY_CRL_PATH = "/vcek/v1/Milan/crl";

/** A fetch that answers AMD's CRL URL itself (per `amd`) and passes the rest on. */
function fetchWithAmd(amd: () => Promise<Response>, asked: string[]): typeof fetch {
  return (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    asked.push(url);
    return url === AMD_CRL ? amd() : fetch(input, init);
  };
}

/** AMD's current CRL: issued now, revoking `revoked`. */
const amdCrl = (revoked: readonly string[] = []) => async () =>
  new Response(
    new Uint8Array(
      await authority.issueCrl({
        revokedSerials: revoked,
        thisUpdate: new Date(Date.now() - 60_000),
      }),
    ),
  );

function client(fetcher: CachingFetcher, proxy: string, crlBaseUrl?: string) {
  return new AmdKdsClient({
    fetcher,
    baseUrl: proxy,
    ...(crlBaseUrl ? { crlBaseUrl } : {}),
    trustedRoots: { Milan: [authority.rootFingerprint] },
  });
}

async function verify(kds: AmdKdsClient, a: SimulatedSnpAuthority = authority) {
  const { report } = await a.createReport({ version: 5 });
  return await new SnpEvidenceVerifier({
    referenceValues: [a.referenceValue()],
    collateral: kds,
    requireRevocationCheck: true,
  }).verifyDetailed({ platform: "snp", report }, { now: new Date() });
}

async function withProxy(
  fn: (proxy: Awaited<ReturnType<typeof startKdsStandIn>>) => Promise<void>,
) {
  const proxy = await startKdsStandIn(authority);
  try {
    await fn(proxy);
  } finally {
    await proxy.close();
  }
}

Deno.test("the AMD CRL comes from AMD's KDS, not the KDS proxy: a replayed older CRL hides no revocation", () =>
  withProxy(async (proxy) => {
    const asked: string[] = [];
    const fetcher = new CachingFetcher({
      retries: 0,
      fetch: fetchWithAmd(amdCrl([authority.askSerialNumber]), asked),
    });
    await assert.rejects(
      verify(client(fetcher, proxy.base)),
      (e: unknown) => e instanceof VerificationError && /revoked/.test(e.message),
    );
    assert.equal(asked.filter((u) => u === AMD_CRL).length, 1);
    assert.ok(!proxy.requests.includes(PROXY_CRL_PATH), proxy.requests.join("\n"));
    // What the default prevents: the proxy's own older CRL (taken when the user names the proxy
    // as the CRL service) does not know the revocation, and the report passes.
    const replayed = await verify(
      client(new CachingFetcher({ retries: 0 }), proxy.base, proxy.base),
    );
    assert.equal(replayed.revocationChecked, true);
    assert.ok(proxy.requests.includes(PROXY_CRL_PATH));
  }));

Deno.test("AMD's KDS unreachable: verification fails naming AMD's CRL URL, the proxy's CRL is no fallback", () =>
  withProxy(async (proxy) => {
    const asked: string[] = [];
    const fetcher = new CachingFetcher({
      retries: 0,
      fetch: fetchWithAmd(() => Promise.reject(new TypeError("dns error")), asked),
    });
    await assert.rejects(
      verify(client(fetcher, proxy.base)),
      (e: unknown) =>
        e instanceof UnavailableError && e.field === "crl" &&
        e.message.includes(`(${AMD_CRL}: `) && /network error: dns error/.test(e.message) &&
        e.cause instanceof UnavailableError &&
        e.cause.field === AMD_CRL,
    );
    assert.ok(!proxy.requests.includes(PROXY_CRL_PATH), proxy.requests.join("\n"));
  }));

Deno.test("caches and offline bundles hold AMD's CRL under AMD's URL and keep working", () =>
  withProxy((proxy) =>
    withTempDir(async (dir) => {
      const asked: string[] = [];
      const fetcher = new CachingFetcher({
        cacheDir: `${dir}/cache`,
        retries: 0,
        fetch: fetchWithAmd(amdCrl(), asked),
      });
      assert.equal((await verify(client(fetcher, proxy.base))).revocationChecked, true);
      // Offline, the same client needs neither the proxy nor AMD.
      const seen = proxy.requests.length;
      const offline = new CachingFetcher({ cacheDir: `${dir}/cache`, offline: true });
      assert.equal((await verify(client(offline, proxy.base))).revocationChecked, true);
      assert.equal(proxy.requests.length, seen);
      // An exported bundle holds the CRL under AMD's URL; verification from it alone works.
      const exported = await exportCacheToBundle(`${dir}/cache`, `${dir}/bundle`);
      assert.ok(exported.written.some((w) => w.url === AMD_CRL), JSON.stringify(exported));
      const bundle = new CachingFetcher({ offline: true, importDirs: [`${dir}/bundle`] });
      assert.equal((await verify(client(bundle, proxy.base))).revocationChecked, true);
      // A bundle exported before this change holds the CRL under the proxy's URL only: it is not
      // read for AMD's URL, so real verification from it stops for want of the CRL (naming AMD's
      // URL) until the bundle is exported again.
      const before = new CachingFetcher({ cacheDir: `${dir}/old-cache`, retries: 0 });
      await verify(client(before, proxy.base, proxy.base));
      await exportCacheToBundle(`${dir}/old-cache`, `${dir}/old-bundle`);
      const old = new CachingFetcher({ offline: true, importDirs: [`${dir}/old-bundle`] });
      await assert.rejects(
        verify(client(old, proxy.base)),
        (e: unknown) =>
          e instanceof UnavailableError && e.field === "crl" && e.message.includes(AMD_CRL),
      );
    })
  ));

function manifestWith(snp: Record<string, unknown>[]) {
  return parseManifest(new TextEncoder().encode(JSON.stringify({
    Policies: { ["7e".repeat(32)]: { SANs: ["c"], WorkloadSecretID: "", Role: "coordinator" } },
    ReferenceValues: { snp, tdx: [] },
    WorkloadOwnerPubKeys: [],
    SeedshareOwnerPubKeys: [],
  })));
}

const REAL = "snp/milan-v5-gcp-teekit";

/** A KDS proxy serving a real Milan chip's VCEK and AMD's real Milan chain, and no CRL. */
async function startRealProxy() {
  const chain = new TextDecoder().decode(await readConformance(`${REAL}/ask.pem`)) + "\n" +
    new TextDecoder().decode(await readConformance(`${REAL}/ark.pem`));
  const vcek = await readConformance(`${REAL}/vcek.der`);
  return startVendorStandIn((url) => {
    if (url.pathname === "/vcek/v1/Milan/cert_chain") return new Response(chain);
    if (url.pathname === PROXY_CRL_PATH) return new Response("no CRL", { status: 404 });
    if (url.pathname.startsWith("/vcek/v1/Milan/")) return new Response(new Uint8Array(vcek));
    return new Response("not found", { status: 404 });
  });
}

conformanceTest(
  "manifest verifiers: a real entry asks AMD's KDS for the CRL whatever --kds-url is, or --amd-crl-url",
  async () => {
    const proxy = await startRealProxy();
    try {
      const evidence = {
        platform: "snp" as const,
        report: await readConformance(`${REAL}/report.bin`),
      };
      const options = { reportData: new Uint8Array(64), now: new Date() };
      const real = manifestWith([{ ...TEST_REFERENCE_VALUES.snp[0], ProductName: "Milan" }]);
      // The chain and VCEK from the proxy verify against AMD's pinned Milan ARK; the CRL is asked
      // of AMD (here: 404), never of the proxy, and its absence stops the verification.
      const asked: string[] = [];
      const verifiers = manifestVerifiersWithCollateral({
        kdsBaseUrl: proxy.base,
        fetch: fetchWithAmd(() => Promise.resolve(new Response("gone", { status: 404 })), asked),
      });
      await assert.rejects(
        verifiers.verify(real, evidence, options),
        (e: unknown) =>
          e instanceof UnavailableError && e.field === "crl" && e.message.includes(AMD_CRL),
      );
      assert.ok(asked.includes(AMD_CRL), asked.join("\n"));
      assert.ok(!proxy.requests.includes(PROXY_CRL_PATH), proxy.requests.join("\n"));
      // --amd-crl-url names the CRL service instead: AMD's URL is not asked.
      const named: string[] = [];
      const withNamed = manifestVerifiersWithCollateral({
        kdsBaseUrl: proxy.base,
        amdCrlUrl: proxy.base,
        fetch: fetchWithAmd(() => Promise.reject(new TypeError("must not be asked")), named),
      });
      await assert.rejects(
        withNamed.verify(real, evidence, options),
        (e: unknown) => e instanceof UnavailableError && e.field === "crl",
      );
      assert.ok(proxy.requests.includes(PROXY_CRL_PATH), proxy.requests.join("\n"));
      assert.ok(!named.includes(AMD_CRL), named.join("\n"));
    } finally {
      await proxy.close();
    }
  },
);

Deno.test("manifest verifiers: simulated entries take their stand-in's own CRL, AMD is never asked", () =>
  withProxy(async (proxy) => {
    const { report } = await authority.createReport({ version: 5 });
    const asked: string[] = [];
    const simulated = manifestVerifiersWithCollateral({
      kdsBaseUrl: proxy.base,
      fetch: fetchWithAmd(() => Promise.reject(new TypeError("must not be asked")), asked),
    });
    const entry = {
      ...TEST_REFERENCE_VALUES.snp[0],
      Platform: "Simulated-SNP",
      ProductName: "Milan",
      SimulatedRootSHA256: authority.rootFingerprint,
    };
    // Signature, chain and CRL pass; the fixture's measurements need not match this report.
    await simulated.verify(
      manifestWith([entry]),
      { platform: "snp", report },
      { reportData: new Uint8Array(64), now: new Date() },
    ).then(() => {}, (e: unknown) => assert.ok(e instanceof ValidationError, String(e)));
    assert.ok(!asked.includes(AMD_CRL), asked.join("\n"));
    assert.ok(asked.includes(`${proxy.base}${PROXY_CRL_PATH}`), asked.join("\n"));
  }));
