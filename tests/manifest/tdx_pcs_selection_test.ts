/**
 * Which TDX collateral a manifest gets when a PCS URL is configured: simulated entries go through
 * the PCS client (fetch, pre-cache check, disk cache) trusting only the roots they name; real
 * entries keep Intel's pinned root, so a stand-in serving simulated collateral can never make a
 * real entry verify, and nothing it serves is cached unless it chains to a trusted root.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import {
  InvalidDocumentError,
  UnavailableError,
  VerificationError,
} from "../../util/errors/mod.ts";
import { listCache, trustDomainOf } from "../../collateral/mod.ts";
import { INTEL_ROOT_CA_CRL_URL } from "../../tdx/pcs/client.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { manifestVerifiersWithCollateral } from "../../manifest/collateral_config.ts";
import { expectedHostData } from "../../manifest/policy_match.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { startPcsStandIn } from "../../testing/tdx/pcs_stand_in.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { readLocalManifest } from "../../atls/workspace.ts";
import { AMD_ARK_SHA256, INTEL_SGX_ROOT_CA_SHA256 } from "../../evidence/vendor_roots.ts";
import { TEST_REFERENCE_VALUES } from "../policy/fixtures.ts";

const POLICY = "7e".repeat(32);
const REPORT_DATA = new Uint8Array(64).fill(0x42);
const authority = await SimulatedTdxAuthority.generate();
const quote = await authority.createQuote({
  reportData: REPORT_DATA,
  mrConfigId: expectedHostData("tdx", Uint8Array.from({ length: 32 }, () => 0x7e)),
});
const evidence = { platform: "tdx" as const, report: quote };

function manifestWith(tdx: Record<string, unknown>[]) {
  return parseManifest(new TextEncoder().encode(JSON.stringify({
    Policies: { [POLICY]: { SANs: ["coordinator"], WorkloadSecretID: "", Role: "coordinator" } },
    ReferenceValues: { snp: [], tdx },
    WorkloadOwnerPubKeys: [],
    SeedshareOwnerPubKeys: [],
  })));
}

const simulated = (root: string) => ({
  Platform: "Simulated-TDX",
  MrTd: "11".repeat(48),
  SimulatedRootSHA256: root,
});

async function withStandIn(fn: (pcs: string, cacheDir: string) => Promise<void>) {
  const pcs = await startPcsStandIn(authority);
  try {
    await withTempDir((dir) => fn(pcs.base, `${dir}/cache`));
  } finally {
    await pcs.close();
  }
}

Deno.test("simulated TDX entries verify through a configured PCS and its responses are cached", () =>
  withStandIn(async (pcs, cacheDir) => {
    const verifiers = manifestVerifiersWithCollateral({ cacheDir, pcsBaseUrl: pcs });
    const manifest = manifestWith([simulated(await authority.rootFingerprint())]);
    const { claims, policy } = await verifiers.verify(manifest, evidence, {
      reportData: REPORT_DATA,
      now: new Date(),
    });
    assert.equal(claims.platform, "tdx");
    assert.equal(policy.digest, POLICY);
    const cached = (await listCache(cacheDir)).map((e) => e.url);
    assert.equal(cached.length, 4, cached.join("\n"));
    assert.ok(cached.every((url) => url?.startsWith(pcs)), cached.join("\n"));
  }));

Deno.test("a PCS serving another root's collateral is refused for a simulated entry, nothing cached", () =>
  withStandIn(async (pcs, cacheDir) => {
    const other = await SimulatedTdxAuthority.generate();
    const verifiers = manifestVerifiersWithCollateral({ cacheDir, pcsBaseUrl: pcs });
    const manifest = manifestWith([simulated(await other.rootFingerprint())]);
    await assert.rejects(
      verifiers.verify(manifest, evidence, { reportData: REPORT_DATA, now: new Date() }),
      (e: unknown) =>
        e instanceof VerificationError && /is not a pinned trust anchor/.test(e.message),
    );
    assert.deepEqual(await listCache(cacheDir), []);
  }));

/**
 * A fetch that answers Intel's root CA CRL location itself (404, final: no network leaves the
 * machine) and records every URL asked for.
 */
function recordingFetch(asked: string[]): typeof fetch {
  return (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    asked.push(url);
    return url === INTEL_ROOT_CA_CRL_URL
      ? Promise.resolve(new Response("not here", { status: 404 }))
      : fetch(input, init);
  };
}

Deno.test("a real TDX entry keeps Intel's root: simulated collateral from the PCS is refused, nothing cached", () =>
  withStandIn(async (pcs, cacheDir) => {
    const asked: string[] = [];
    const verifiers = manifestVerifiersWithCollateral({
      cacheDir,
      pcsBaseUrl: pcs,
      fetch: recordingFetch(asked),
    });
    const z = "00".repeat(48);
    const real = { Platform: "Metal-QEMU-TDX", MrTd: "11".repeat(48), Rtmrs: [z, z, z, z] };
    for (const tdx of [[real], [real, simulated(await authority.rootFingerprint())]]) {
      await assert.rejects(
        verifiers.verify(manifestWith(tdx), evidence, { reportData: REPORT_DATA, now: new Date() }),
        (e: unknown) =>
          (e instanceof VerificationError && /is not a pinned trust anchor/.test(e.message)) ||
          (e instanceof UnavailableError && e.field === INTEL_ROOT_CA_CRL_URL),
      );
    }
    assert.deepEqual(await listCache(cacheDir), []);
    // The real entries' root CA CRL is Intel's published one, never the configured service's.
    assert.ok(asked.includes(INTEL_ROOT_CA_CRL_URL), asked.join("\n"));
    assert.ok(!asked.some((u) => u.endsWith("/sgx/certification/v4/rootcacrl")), asked.join("\n"));
  }));

Deno.test("simulated entries take the root CA CRL from the PCS stand-in, not from Intel's location", () =>
  withStandIn(async (pcs, cacheDir) => {
    const asked: string[] = [];
    const verifiers = manifestVerifiersWithCollateral({
      cacheDir,
      pcsBaseUrl: pcs,
      fetch: recordingFetch(asked),
    });
    await verifiers.verify(manifestWith([simulated(await authority.rootFingerprint())]), evidence, {
      reportData: REPORT_DATA,
      now: new Date(),
    });
    assert.ok(asked.includes(`${pcs}/sgx/certification/v4/rootcacrl`), asked.join("\n"));
    assert.ok(!asked.includes(INTEL_ROOT_CA_CRL_URL), asked.join("\n"));
  }));

Deno.test("simulated collateral cached from the stand-in never sits where a real verification reads", () =>
  withStandIn(async (pcs, cacheDir) => {
    const root = await authority.rootFingerprint();
    const online = manifestVerifiersWithCollateral({ cacheDir, pcsBaseUrl: pcs });
    await online.verify(manifestWith([simulated(root)]), evidence, {
      reportData: REPORT_DATA,
      now: new Date(),
    });
    const cached = await listCache(cacheDir);
    assert.equal(cached.length, 4);
    assert.ok(cached.every((e) => e.trustDomain === trustDomainOf([root])), JSON.stringify(cached));

    // A real entry served by the same PCS URL, offline on the same cache: the simulated entries
    // are not even read (a miss naming the URL), so they can neither verify nor deny it. (With
    // the real entry alone the quote is refused before any collateral lookup, its PCK chain not
    // ending in Intel's root; the simulated entry beside it gets the lookup made, through the
    // real entry's collateral source.)
    const z = "00".repeat(48);
    const real = { Platform: "Metal-QEMU-TDX", MrTd: "11".repeat(48), Rtmrs: [z, z, z, z] };
    const offline = manifestVerifiersWithCollateral({ cacheDir, pcsBaseUrl: pcs, offline: true });
    await assert.rejects(
      offline.verify(manifestWith([real]), evidence, { reportData: REPORT_DATA, now: new Date() }),
      (e: unknown) => e instanceof VerificationError && /not a pinned trust anchor/.test(e.message),
    );
    await assert.rejects(
      offline.verify(manifestWith([real, simulated(root)]), evidence, {
        reportData: REPORT_DATA,
        now: new Date(),
      }),
      (e: unknown) => e instanceof UnavailableError && /offline and not available/.test(e.message),
    );
    // The simulated entry itself still verifies offline from its own trust domain.
    await offline.verify(manifestWith([simulated(root)]), evidence, {
      reportData: REPORT_DATA,
      now: new Date(),
    });
  }));

Deno.test("without a configured PCS, simulated TDX entries never reach Intel's PCS", () =>
  withTempDir(async (dir) => {
    const verifiers = manifestVerifiersWithCollateral({ cacheDir: `${dir}/cache` });
    const manifest = manifestWith([simulated(await authority.rootFingerprint())]);
    await assert.rejects(
      verifiers.verify(manifest, evidence, { reportData: REPORT_DATA, now: new Date() }),
      (e: unknown) =>
        e instanceof UnavailableError && /no TDX collateral source is configured/.test(e.message),
    );
    assert.deepEqual(await listCache(`${dir}/cache`), []);
  }));

Deno.test("a root CA CRL URL the configuration names (--root-ca-crl-url) replaces Intel's for real entries", () =>
  withStandIn(async (pcs, cacheDir) => {
    const asked: string[] = [];
    const named = "https://crl.example/IntelSGXRootCA.der";
    const verifiers = manifestVerifiersWithCollateral({
      cacheDir,
      pcsBaseUrl: pcs,
      rootCaCrlUrl: named,
      fetch: (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        asked.push(url);
        return url === named
          ? Promise.resolve(new Response("not here", { status: 404 }))
          : fetch(input, init);
      },
    });
    const z = "00".repeat(48);
    const real = { Platform: "Metal-QEMU-TDX", MrTd: "11".repeat(48), Rtmrs: [z, z, z, z] };
    // The simulated entry beside the real one lets the simulated quote's PCK chain verify, so
    // its collateral is requested from the real entries' source (a quote refused before that
    // would ask nothing).
    const root = await authority.rootFingerprint();
    await assert.rejects(
      verifiers.verify(manifestWith([real, simulated(root)]), evidence, {
        reportData: REPORT_DATA,
        now: new Date(),
      }),
    );
    assert.ok(asked.includes(named), asked.join("\n"));
    assert.ok(!asked.includes(INTEL_ROOT_CA_CRL_URL), asked.join("\n"));
  }));

Deno.test("a manifest whose simulated entry names a vendor's real root is refused, naming file and field", () =>
  withTempDir(async (dir) => {
    const cases = [
      ["tdx", simulated(INTEL_SGX_ROOT_CA_SHA256), "Intel SGX Root CA"],
      ["tdx", simulated(AMD_ARK_SHA256.Milan), "AMD ARK-Milan"],
      [
        "snp",
        {
          ...TEST_REFERENCE_VALUES.snp[0],
          Platform: "Simulated-SNP",
          SimulatedRootSHA256: AMD_ARK_SHA256.Turin,
        },
        "AMD ARK-Turin",
      ],
    ] as const;
    for (const [platform, entry, name] of cases) {
      const file = `${dir}/manifest-${platform}.json`;
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          Policies: {
            [POLICY]: { SANs: ["coordinator"], WorkloadSecretID: "", Role: "coordinator" },
          },
          ReferenceValues: {
            snp: platform === "snp" ? [entry] : [],
            tdx: platform === "tdx" ? [entry] : [],
          },
          WorkloadOwnerPubKeys: [],
          SeedshareOwnerPubKeys: [],
        }),
      );
      await assert.rejects(
        readLocalManifest(file),
        (e: unknown) =>
          e instanceof InvalidDocumentError && e.file === file &&
          e.issues.length === 1 &&
          e.issues[0]!.path === `ReferenceValues.${platform}[0].SimulatedRootSHA256` &&
          e.message.startsWith(
            `${file}: ReferenceValues.${platform}[0].SimulatedRootSHA256: is the fingerprint of ${name}, a real vendor root`,
          ),
      );
    }
  }));
