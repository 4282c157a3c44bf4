/**
 * The AMD KDS client against a local HTTP server that serves the KDS paths for a simulated
 * authority (127.0.0.1 only; no mocking of the client or the fetcher).
 */
import assert from "node:assert/strict";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { CachingFetcher, trustDomainOf } from "../../../collateral/caching_fetcher.ts";
import { listCache } from "../../../collateral/cache_export.ts";
import { bundlePath } from "../../../collateral/bundle.ts";
import { UnavailableError, VerificationError } from "../../../util/errors/mod.ts";
import { AmdKdsClient } from "../../../snp/kds/client.ts";
import { certChainUrl, crlUrl, vcekUrl } from "../../../snp/kds/urls.ts";
import type { SimulatedSnpAuthority } from "../../../testing/snp/mod.ts";
import { SnpEvidenceVerifier } from "../../../snp/verifier.ts";
import { sharedAuthority } from "../simulated_fixture.ts";

const NOW = new Date("2026-06-01T00:00:00Z");

interface KdsServer {
  readonly base: string;
  readonly requests: string[];
  /** Responses to send instead of the normal one, by path, consumed in order. */
  readonly overrides: Map<string, Response[]>;
  crl?: Uint8Array;
  vcekFor?: (url: URL) => Promise<Uint8Array>;
  close(): Promise<void>;
}

function startKds(authority: SimulatedSnpAuthority): KdsServer {
  const requests: string[] = [];
  const overrides = new Map<string, Response[]>();
  const pem = authority.askPem + "\n" + authority.arkPem + "\n";
  const state: Partial<KdsServer> = {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    requests.push(url.pathname + url.search);
    const queued = overrides.get(url.pathname)?.shift();
    if (queued) return queued;
    const prefix = `/vcek/v1/${authority.product}/`;
    if (url.pathname === `${prefix}cert_chain`) return new Response(pem);
    if (url.pathname === `${prefix}crl`) {
      return state.crl
        ? new Response(state.crl as Uint8Array<ArrayBuffer>)
        : new Response("no CRL", { status: 404 });
    }
    if (url.pathname.startsWith(prefix)) {
      const tcb = {
        bootloader: Number(url.searchParams.get("blSPL")),
        tee: Number(url.searchParams.get("teeSPL")),
        snp: Number(url.searchParams.get("snpSPL")),
        microcode: Number(url.searchParams.get("ucodeSPL")),
      };
      const body = state.vcekFor ? await state.vcekFor(url) : await authority.vcekFor(tcb);
      return new Response(body as Uint8Array<ArrayBuffer>);
    }
    return new Response("not found", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return Object.assign(state, {
    base,
    requests,
    overrides,
    close: () => server.shutdown(),
  }) as KdsServer;
}

/** Runs `fn` against a KDS server for the shared Milan authority, and stops the server after. */
async function withKds(
  fn: (authority: SimulatedSnpAuthority, server: KdsServer) => Promise<void>,
): Promise<void> {
  const authority = await sharedAuthority("Milan");
  const server = startKds(authority);
  try {
    await fn(authority, server);
  } finally {
    await server.close();
  }
}

function client(
  authority: SimulatedSnpAuthority,
  base: string,
  fetcherOptions: ConstructorParameters<typeof CachingFetcher>[0] = {},
) {
  const fetcher = new CachingFetcher({
    baseDelayMs: 1,
    sleep: () => Promise.resolve(),
    ...fetcherOptions,
  });
  return {
    fetcher,
    kds: new AmdKdsClient({
      fetcher,
      baseUrl: base,
      // The simulated authority's stand-in serves its own ARK's CRL.
      crlBaseUrl: base,
      clock: () => NOW,
      trustedRoots: { [authority.product]: [authority.rootFingerprint] },
    }),
  };
}

async function verifyWithKds(authority: SimulatedSnpAuthority, kds: AmdKdsClient) {
  const { report } = await authority.createReport({ version: 5 });
  const verifier = new SnpEvidenceVerifier({
    referenceValues: [authority.referenceValue()],
    collateral: kds,
  });
  return await verifier.verifyDetailed({ platform: "snp", report }, { now: NOW });
}

Deno.test("KDS URLs follow AMD's layout, with fmcSPL and an 8-byte hwID on Turin", () => {
  const tcb = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };
  assert.equal(
    vcekUrl("Milan", new Uint8Array(64).fill(0xab), tcb),
    `https://kdsintf.amd.com/vcek/v1/Milan/${
      "ab".repeat(64)
    }?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115`,
  );
  const turinId = new Uint8Array(64);
  turinId.set([0x3b, 0x42, 0x09, 0x2f, 0x69, 0xc6, 0x56, 0xd3]);
  assert.equal(
    vcekUrl("Turin", turinId, { fmc: 0, bootloader: 1, tee: 0, snp: 2, microcode: 71 }),
    "https://kdsintf.amd.com/vcek/v1/Turin/3b42092f69c656d3?fmcSPL=0&blSPL=1&teeSPL=0&snpSPL=2&ucodeSPL=71",
  );
  assert.equal(certChainUrl("Genoa", "VLEK"), "https://kdsintf.amd.com/vlek/v1/Genoa/cert_chain");
  assert.equal(crlUrl("Genoa", "VCEK"), "https://kdsintf.amd.com/vcek/v1/Genoa/crl");
});

Deno.test("verifies a report without auxblob by fetching VCEK, chain and CRL from KDS", () =>
  withKds(async (authority, server) => {
    server.crl = await authority.issueCrl({ thisUpdate: new Date("2026-05-30T00:00:00Z") });
    const { kds } = client(authority, server.base);
    const result = await verifyWithKds(authority, kds);
    assert.equal(result.revocationChecked, true);
    assert.equal(result.rootFingerprint, authority.rootFingerprint);
    assert.ok(server.requests.some((r) => r.includes(encodeHex(authority.chipId))));
  }));

Deno.test("rejects a report whose ASK the AMD CRL revokes", () =>
  withKds(async (authority, server) => {
    server.crl = await authority.issueCrl({
      revokedSerials: [authority.askSerialNumber],
      thisUpdate: new Date("2026-05-30T00:00:00Z"),
    });
    const { kds } = client(authority, server.base);
    await assert.rejects(
      verifyWithKds(authority, kds),
      (e: unknown) => e instanceof VerificationError && /revoked/.test(e.message),
    );
  }));

Deno.test("rejects a CRL that the ARK did not sign", () =>
  withKds(async (authority, server) => {
    const crl = await authority.issueCrl({ thisUpdate: new Date("2026-05-30T00:00:00Z") });
    crl[crl.length - 5]! ^= 1;
    server.crl = crl;
    const { kds } = client(authority, server.base);
    await assert.rejects(kds.crl("Milan", "VCEK"), VerificationError);
  }));

Deno.test("rejects a chain whose ARK is not the pinned root", () =>
  withKds(async (_authority, server) => {
    const fetcher = new CachingFetcher({ sleep: () => Promise.resolve() });
    const kds = new AmdKdsClient({ fetcher, baseUrl: server.base, clock: () => NOW });
    await assert.rejects(
      kds.certChain("Milan", "VCEK"),
      (e: unknown) => e instanceof VerificationError && /not a pinned trust anchor/.test(e.message),
    );
  }));

Deno.test("rejects a VCEK that KDS returns for another TCB", () =>
  withKds(async (authority, server) => {
    server.vcekFor = () => authority.vcekFor({ bootloader: 1, tee: 0, snp: 1, microcode: 1 });
    const { kds } = client(authority, server.base);
    await assert.rejects(
      kds.vcek("Milan", authority.chipId, authority.tcb),
      (e: unknown) => e instanceof VerificationError && /SPL/.test(e.message),
    );
  }));

Deno.test("honours 429 Retry-After from KDS and then succeeds", () =>
  withKds(async (authority, server) => {
    const path = `/vcek/v1/Milan/cert_chain`;
    server.overrides.set(path, [
      new Response("slow down", { status: 429, headers: { "retry-after": "2" } }),
    ]);
    const sleeps: number[] = [];
    const { kds } = client(authority, server.base, {
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    await kds.certChain("Milan", "VCEK");
    assert.deepEqual(sleeps, [2000]);
    assert.equal(server.requests.filter((r) => r === path).length, 2);
  }));

Deno.test("concurrent verifications share one KDS request per URL", () =>
  withKds(async (authority, server) => {
    const { kds } = client(authority, server.base);
    await Promise.all([1, 2, 3].map(() => kds.vcek("Milan", authority.chipId, authority.tcb)));
    const vcekRequests = server.requests.filter((r) => r.includes("blSPL"));
    assert.equal(vcekRequests.length, 1);
    assert.equal(server.requests.filter((r) => r.endsWith("cert_chain")).length, 1);
  }));

Deno.test("offline: says what is missing, then works from the cache an online run filled", async () => {
  const authority = await sharedAuthority("Milan");
  const server = startKds(authority);
  const cacheDir = await Deno.makeTempDir();
  try {
    const offline = client(authority, server.base, { cacheDir, offline: true });
    await assert.rejects(
      verifyWithKds(authority, offline.kds),
      (e: unknown) =>
        e instanceof UnavailableError && /offline and not available/.test(e.message) &&
        e.field.startsWith(server.base),
    );
    assert.equal(server.requests.length, 0);
    await verifyWithKds(
      authority,
      client(authority, server.base, { cacheDir, clock: () => NOW }).kds,
    );
    const seen = server.requests.length;
    const again = client(authority, server.base, { cacheDir, offline: true });
    const result = await verifyWithKds(authority, again.kds);
    assert.equal(server.requests.length, seen);
    assert.equal(result.revocationChecked, false); // no CRL was published: checked when available
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

/**
 * Fills the import directory `dir` with the KDS chain and VCEK of `authority` as served from
 * `base`, and returns the function that adds further bodies (a CRL) under their URLs.
 */
async function importDirWithChainAndVcek(
  authority: SimulatedSnpAuthority,
  dir: string,
  base: string,
): Promise<(url: string, body: Uint8Array | string) => Promise<void>> {
  const put = async (url: string, body: Uint8Array | string) => {
    const path = bundlePath(dir, url);
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await (typeof body === "string" ? Deno.writeTextFile(path, body) : Deno.writeFile(path, body));
  };
  await put(certChainUrl("Milan", "VCEK", base), authority.askPem + "\n" + authority.arkPem + "\n");
  await put(vcekUrl("Milan", authority.chipId, authority.tcb, base), await authority.vcekFor());
  return put;
}

Deno.test("offline: reads an imported collateral directory", async () => {
  const authority = await sharedAuthority("Milan");
  const dir = await Deno.makeTempDir();
  try {
    const base = "http://kds.invalid";
    await importDirWithChainAndVcek(authority, dir, base);
    const { kds } = client(authority, base, { offline: true, importDirs: [dir] });
    await verifyWithKds(authority, kds);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rejects a stale CRL (nextUpdate before now)", () =>
  withKds(async (authority, server) => {
    server.crl = await authority.issueCrl({
      thisUpdate: new Date("2026-05-01T00:00:00Z"),
      nextUpdate: new Date("2026-05-08T00:00:00Z"),
    });
    const { kds } = client(authority, server.base);
    await assert.rejects(
      verifyWithKds(authority, kds),
      (e: unknown) => e instanceof VerificationError && /stale/.test(e.message),
    );
  }));

Deno.test("when revocation checking is required, a missing CRL fails the verification", () =>
  withKds(async (authority, server) => {
    // The server publishes no CRL (404).
    const { kds } = client(authority, server.base);
    const { report } = await authority.createReport();
    const verifier = new SnpEvidenceVerifier({
      referenceValues: [authority.referenceValue()],
      collateral: kds,
      requireRevocationCheck: true,
    });
    await assert.rejects(
      verifier.verify({ platform: "snp", report }, { reportData: new Uint8Array(64), now: NOW }),
      (e: unknown) => e instanceof UnavailableError && e.field === "crl",
    );
    server.crl = await authority.issueCrl({ thisUpdate: new Date("2026-05-30T00:00:00Z") });
    const withCrl = client(authority, server.base).kds;
    const ok = new SnpEvidenceVerifier({
      referenceValues: [authority.referenceValue()],
      collateral: withCrl,
      requireRevocationCheck: true,
    });
    await ok.verify({ platform: "snp", report }, { reportData: new Uint8Array(64), now: NOW });
  }));

/** Runs `fn` with a KDS server and a cache directory, cleaning both up. */
async function withCachedKds(
  fn: (
    authority: SimulatedSnpAuthority,
    server: KdsServer,
    cacheDir: string,
  ) => Promise<void>,
): Promise<void> {
  const authority = await sharedAuthority("Milan");
  const server = startKds(authority);
  const cacheDir = await Deno.makeTempDir({ prefix: "contrast-kds-" });
  try {
    await fn(authority, server, cacheDir);
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
}

const hitsOf = (server: KdsServer, path: string) =>
  server.requests.filter((r) => r.startsWith(path)).length;

Deno.test("a bogus certificate chain from KDS is not cached: the next client fetches the genuine one", async () => {
  await withCachedKds(async (authority, server, cacheDir) => {
    const path = `/vcek/v1/Milan/cert_chain`;
    const ask = authority.askPem;
    server.overrides.set(path, [new Response(`${ask}\n${ask}\n`)]);
    await assert.rejects(
      client(authority, server.base, { cacheDir, clock: () => NOW }).kds.certChain("Milan", "VCEK"),
      VerificationError,
    );
    const chain = await client(authority, server.base, { cacheDir, clock: () => NOW }).kds
      .certChain("Milan", "VCEK");
    assert.equal(await chain.ark.fingerprint(), authority.rootFingerprint);
    assert.equal(hitsOf(server, path), 2);
    // The genuine chain is cached: a third client needs no request.
    await client(authority, server.base, { cacheDir, clock: () => NOW }).kds.certChain(
      "Milan",
      "VCEK",
    );
    assert.equal(hitsOf(server, path), 2);
  });
});

Deno.test("a VCEK whose signature does not verify is not cached", async () => {
  await withCachedKds(async (authority, server, cacheDir) => {
    let calls = 0;
    server.vcekFor = async () => {
      const der = (await authority.vcekFor(authority.tcb)).slice();
      if (calls++ === 0) der[der.length - 3]! ^= 1;
      return der;
    };
    await assert.rejects(
      client(authority, server.base, { cacheDir, clock: () => NOW }).kds.vcek(
        "Milan",
        authority.chipId,
        authority.tcb,
      ),
      VerificationError,
    );
    const vcek = await client(authority, server.base, { cacheDir, clock: () => NOW }).kds.vcek(
      "Milan",
      authority.chipId,
      authority.tcb,
    );
    assert.ok(vcek.subject.length > 0);
    assert.equal(calls, 2);
  });
});

Deno.test("a CRL the ARK did not sign is not cached", async () => {
  await withCachedKds(async (authority, server, cacheDir) => {
    const path = `/vcek/v1/Milan/crl`;
    const good = await authority.issueCrl({ thisUpdate: new Date("2026-05-30T00:00:00Z") });
    const bad = good.slice();
    bad[bad.length - 5]! ^= 1;
    server.crl = good;
    server.overrides.set(path, [new Response(bad)]);
    await assert.rejects(
      client(authority, server.base, { cacheDir, clock: () => NOW }).kds.crl("Milan", "VCEK"),
      VerificationError,
    );
    const crl = await client(authority, server.base, { cacheDir, clock: () => NOW }).kds.crl(
      "Milan",
      "VCEK",
    );
    assert.ok(crl);
    assert.equal(hitsOf(server, path), 2);
  });
});

Deno.test("what a simulated KDS served is cached in its roots' trust domain: a lookup against AMD's roots never reads it", async () => {
  await withCachedKds(async (authority, server, cacheDir) => {
    // Cached while checked against the simulated root (the manifest's SimulatedRootSHA256).
    const simulated = client(authority, server.base, { cacheDir, clock: () => NOW }).kds;
    const vcek = await simulated.vcek("Milan", authority.chipId, authority.tcb);
    // Fetched, the VCEK is kept on disk only once a report it signed verified.
    assert.equal((await listCache(cacheDir)).length, 1);
    await simulated.keepVcek(vcek);
    const listed = await listCache(cacheDir);
    assert.equal(listed.length, 2, JSON.stringify(listed));
    for (const e of listed) {
      assert.equal(e.trustDomain, trustDomainOf([authority.rootFingerprint]), e.url);
    }
    // The same URLs looked up for AMD's pinned Milan ARK (a real entry) find nothing cached:
    // offline this is a miss, never the simulated chain failing AMD's pin.
    const real = new AmdKdsClient({
      fetcher: new CachingFetcher({ cacheDir, offline: true }),
      baseUrl: server.base,
      clock: () => NOW,
    });
    await assert.rejects(
      real.certChain("Milan", "VCEK"),
      (e: unknown) => e instanceof UnavailableError && /offline and not available/.test(e.message),
    );
    await assert.rejects(
      real.vcek("Milan", authority.chipId, authority.tcb),
      (e: unknown) => e instanceof UnavailableError && /offline and not available/.test(e.message),
    );
    // And the simulated client still reads its own entries offline.
    const again = new AmdKdsClient({
      fetcher: new CachingFetcher({ cacheDir, offline: true }),
      baseUrl: server.base,
      clock: () => NOW,
      trustedRoots: { Milan: [authority.rootFingerprint] },
    });
    assert.ok(await again.vcek("Milan", authority.chipId, authority.tcb));
  });
});

Deno.test("a CRL served again (the same bytes) is not verified again but checked at every time; other bytes are verified in full", async () => {
  const authority = await sharedAuthority("Milan");
  const dir = await Deno.makeTempDir();
  try {
    const base = "http://kds.invalid";
    const put = await importDirWithChainAndVcek(authority, dir, base);
    const url = crlUrl("Milan", "VCEK", base);
    const good = await authority.issueCrl({
      thisUpdate: new Date("2026-05-30T00:00:00Z"),
      nextUpdate: new Date("2026-06-06T00:00:00Z"),
    });
    await put(url, good);
    let now = NOW;
    // An imported directory serves the same bytes on every call, whatever the time.
    const fetcher = new CachingFetcher({ offline: true, importDirs: [dir], clock: () => now });
    const kds = new AmdKdsClient({
      fetcher,
      baseUrl: base,
      crlBaseUrl: base,
      clock: () => now,
      trustedRoots: { Milan: [authority.rootFingerprint] },
    });
    const first = await kds.crl("Milan", "VCEK");
    assert.equal(await kds.crl("Milan", "VCEK"), first); // the CRL verified before, reused
    const refusedAt = async (at: Date, field: RegExp) => {
      now = at;
      await assert.rejects(
        kds.crl("Milan", "VCEK"),
        (e: unknown) => e instanceof VerificationError && field.test(e.field),
      );
      now = NOW;
    };
    await refusedAt(new Date("2026-06-07T00:00:00Z"), /nextUpdate$/); // stale
    await refusedAt(new Date("2026-05-29T00:00:00Z"), /thisUpdate$/); // not yet issued
    assert.equal(await kds.crl("Milan", "VCEK"), first);
    // Other bytes are verified in full: a flipped signature byte is refused…
    const bad = good.slice();
    bad[bad.length - 5]! ^= 1;
    await put(url, bad);
    await assert.rejects(kds.crl("Milan", "VCEK"), VerificationError);
    // …and a newer genuine CRL revoking the ASK replaces the one verified before.
    const askSerial = (await kds.certChain("Milan", "VCEK")).intermediate.serialNumber;
    await put(
      url,
      await authority.issueCrl({
        revokedSerials: [askSerial],
        thisUpdate: new Date("2026-05-31T00:00:00Z"),
      }),
    );
    const newer = await kds.crl("Milan", "VCEK");
    assert.notEqual(newer, first);
    assert.ok(newer!.revoked.size === 1);
    await assert.rejects(verifyWithKds(authority, kds), /revoked/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a CRL that can no longer be had is not answered with the one verified before (revocation fails closed)", async () => {
  const authority = await sharedAuthority("Milan");
  const dir = await Deno.makeTempDir();
  try {
    const base = "http://kds.invalid";
    const put = async (url: string, body: Uint8Array | string) => {
      const path = bundlePath(dir, url);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await (typeof body === "string"
        ? Deno.writeTextFile(path, body)
        : Deno.writeFile(path, body));
    };
    await put(
      certChainUrl("Milan", "VCEK", base),
      authority.askPem + "\n" + authority.arkPem + "\n",
    );
    await put(vcekUrl("Milan", authority.chipId, authority.tcb, base), await authority.vcekFor());
    const url = crlUrl("Milan", "VCEK", base);
    await put(url, await authority.issueCrl({ thisUpdate: new Date("2026-05-30T00:00:00Z") }));
    const fetcher = new CachingFetcher({ offline: true, importDirs: [dir], clock: () => NOW });
    const kds = new AmdKdsClient({
      fetcher,
      baseUrl: base,
      crlBaseUrl: base,
      clock: () => NOW,
      trustedRoots: { Milan: [authority.rootFingerprint] },
    });
    const { report } = await authority.createReport({ version: 5 });
    const verifier = new SnpEvidenceVerifier({
      referenceValues: [authority.referenceValue()],
      collateral: kds,
      requireRevocationCheck: true,
    });
    const verify = () => verifier.verifyDetailed({ platform: "snp", report }, { now: NOW });
    assert.ok(await kds.crl("Milan", "VCEK"));
    assert.equal((await verify()).revocationChecked, true);
    await Deno.remove(bundlePath(dir, url)); // the host withholds the CRL from now on
    await assert.rejects(kds.crl("Milan", "VCEK"), UnavailableError);
    await assert.rejects(
      verify(),
      (e: unknown) => e instanceof UnavailableError && e.field === "crl",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
