/**
 * Rollback protection of AMD CRLs in the KDS client: whoever serves the collateral (an imported
 * directory here, playing the host, a proxy or a stale bundle) replays an older genuine CRL of the
 * simulated ARK, still inside its window, that predates a revocation. Every CRL is really signed by
 * the simulated authority's ARK and verified for real.
 */
import assert from "node:assert/strict";
import {
  bundlePath,
  CachingFetcher,
  listCache,
  REVOCATION_MARKS_FILE,
  RevocationMarks,
  RevocationMarksFileError,
  RevocationRollbackError,
} from "../../../collateral/mod.ts";
import { AmdKdsClient } from "../../../snp/kds/client.ts";
import { certChainUrl, crlUrl, vcekUrl } from "../../../snp/kds/urls.ts";
import { SnpEvidenceVerifier } from "../../../snp/verifier.ts";
import type { SimulatedSnpAuthority } from "../../../testing/snp/mod.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";
import { sharedAuthority } from "../simulated_fixture.ts";

const NOW = new Date("2026-06-01T00:00:00Z");
const BASE = "http://kds.invalid";
const CRL_URL = crlUrl("Milan", "VCEK", BASE);
const day = (d: number) => new Date(Date.UTC(2026, 4, d)); // May 2026

/** A collateral directory holding the authority's chain and VCEK; `put` replaces the CRL. */
async function collateralDir(authority: SimulatedSnpAuthority, dir: string) {
  const put = async (url: string, body: Uint8Array | string) => {
    const path = bundlePath(dir, url);
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await (typeof body === "string" ? Deno.writeTextFile(path, body) : Deno.writeFile(path, body));
  };
  await put(certChainUrl("Milan", "VCEK", BASE), authority.askPem + "\n" + authority.arkPem + "\n");
  await put(vcekUrl("Milan", authority.chipId, authority.tcb, BASE), await authority.vcekFor());
  return { putCrl: (crl: Uint8Array) => put(CRL_URL, crl) };
}

function kdsClient(authority: SimulatedSnpAuthority, dir: string, marks?: RevocationMarks) {
  return new AmdKdsClient({
    // Offline, no memory layer: every call reads what the directory holds now.
    fetcher: new CachingFetcher({ offline: true, importDirs: [dir], clock: () => NOW }),
    baseUrl: BASE,
    crlBaseUrl: BASE,
    clock: () => NOW,
    trustedRoots: { Milan: [authority.rootFingerprint] },
    ...(marks ? { revocationMarks: marks } : {}),
  });
}

const crlOf = (
  authority: SimulatedSnpAuthority,
  thisUpdate: Date,
  crlNumber?: bigint,
  revoked: string[] = [],
) =>
  authority.issueCrl({
    thisUpdate,
    nextUpdate: new Date(thisUpdate.getTime() + 14 * 86400_000),
    revokedSerials: revoked,
    ...(crlNumber !== undefined ? { crlNumber } : {}),
  });

const rollback = (field: RegExp, reason: RegExp) => (e: unknown) =>
  e instanceof RevocationRollbackError && field.test(e.field) && reason.test(e.reason);

Deno.test("an older AMD CRL (lower crlNumber) replayed after one revoking the ASK is refused, and the verification with it", async () => {
  const authority = await sharedAuthority("Milan");
  await withTempDir(async (dir) => {
    const { putCrl } = await collateralDir(authority, dir);
    const kds = kdsClient(authority, dir);
    const verifier = new SnpEvidenceVerifier({
      referenceValues: [authority.referenceValue()],
      collateral: kds,
      requireRevocationCheck: true,
    });
    const { report } = await authority.createReport({ version: 5 });
    const verify = () => verifier.verifyDetailed({ platform: "snp", report }, { now: NOW });
    const before = await crlOf(authority, day(28), 6n);
    await putCrl(before);
    assert.equal((await verify()).revocationChecked, true);
    const askSerial = (await kds.certChain("Milan", "VCEK")).intermediate.serialNumber;
    await putCrl(await crlOf(authority, day(29), 7n, [askSerial]));
    await assert.rejects(verify(), /revoked/);
    // The host serves the CRL from before the revocation again: genuine, inside its window.
    await putCrl(before);
    await assert.rejects(
      kds.crl("Milan", "VCEK"),
      rollback(/\.crlNumber$/, /^6 is older than the accepted 7/),
    );
    await assert.rejects(verify(), RevocationRollbackError);
    // A lower number is refused even with a later thisUpdate.
    await putCrl(await crlOf(authority, day(30), 5n));
    await assert.rejects(
      kds.crl("Milan", "VCEK"),
      rollback(/^http:\/\/kds\.invalid\/vcek\/v1\/Milan\/crl\.crlNumber$/, /accepted 7/),
    );
  });
});

Deno.test("without a crlNumber, an AMD CRL issued before the accepted one is refused (thisUpdate)", async () => {
  const authority = await sharedAuthority("Milan");
  await withTempDir(async (dir) => {
    const { putCrl } = await collateralDir(authority, dir);
    const kds = kdsClient(authority, dir);
    await putCrl(await crlOf(authority, day(29)));
    assert.ok(await kds.crl("Milan", "VCEK"));
    await putCrl(await crlOf(authority, day(28)));
    await assert.rejects(
      kds.crl("Milan", "VCEK"),
      rollback(/\.thisUpdate$/, /^2026-05-28T00:00:00\.000Z is older than the accepted 2026-05-29/),
    );
    // The same number with an earlier thisUpdate is older too.
    await putCrl(await crlOf(authority, day(30), 3n));
    assert.ok(await kds.crl("Milan", "VCEK"));
    await putCrl(await crlOf(authority, day(29), 3n));
    await assert.rejects(kds.crl("Milan", "VCEK"), rollback(/\.thisUpdate$/, /older/));
  });
});

Deno.test("the same AMD CRL served again is accepted; a newer one is accepted and raises the mark", async () => {
  const authority = await sharedAuthority("Milan");
  await withTempDir(async (dir) => {
    const { putCrl } = await collateralDir(authority, dir);
    const marks = new RevocationMarks();
    const kds = kdsClient(authority, dir, marks);
    const first = await crlOf(authority, day(28), 6n);
    await putCrl(first);
    const crl = await kds.crl("Milan", "VCEK");
    for (let i = 0; i < 3; i++) assert.equal(await kds.crl("Milan", "VCEK"), crl);
    // The same number and time, issued again (other bytes: RSA-PSS signatures are randomised).
    await putCrl(await crlOf(authority, day(28), 6n));
    assert.notEqual(await kds.crl("Milan", "VCEK"), crl);
    const key = `amd-crl Milan VCEK ark=${authority.rootFingerprint}`;
    assert.deepEqual(await marks.markOf(key), { number: 6n, issued: day(28) });
    await putCrl(await crlOf(authority, day(29), 7n));
    assert.ok(await kds.crl("Milan", "VCEK"));
    assert.deepEqual(await marks.markOf(key), { number: 7n, issued: day(29) });
    // A refused CRL leaves the mark as it was.
    await putCrl(first);
    await assert.rejects(kds.crl("Milan", "VCEK"), RevocationRollbackError);
    assert.deepEqual(await marks.markOf(key), { number: 7n, issued: day(29) });
  });
});

Deno.test("a CRL verified before and served again is refused once shared marks saw a newer one (the reuse path checks the mark)", async () => {
  const authority = await sharedAuthority("Milan");
  await withTempDir(async (dir) => {
    const { putCrl } = await collateralDir(authority, dir);
    const marks = new RevocationMarks();
    const a = kdsClient(authority, dir, marks);
    const b = kdsClient(authority, dir, marks);
    const old = await crlOf(authority, day(28), 6n);
    await putCrl(old);
    assert.ok(await a.crl("Milan", "VCEK")); // a now reuses these bytes without verifying them
    await putCrl(await crlOf(authority, day(29), 7n));
    assert.ok(await b.crl("Milan", "VCEK"));
    await putCrl(old);
    await assert.rejects(a.crl("Milan", "VCEK"), rollback(/\.crlNumber$/, /accepted 7/));
  });
});

Deno.test("marks persisted next to the cache refuse an older CRL after a restart (a new client and marks object)", async () => {
  const authority = await sharedAuthority("Milan");
  await withTempDir(async (dir) => {
    const { putCrl } = await collateralDir(authority, dir);
    const file = `${dir}/cache/${REVOCATION_MARKS_FILE}`;
    const old = await crlOf(authority, day(28), 6n);
    await putCrl(await crlOf(authority, day(29), 7n));
    const first = new RevocationMarks({ file, persistSimulated: true });
    assert.ok(await kdsClient(authority, dir, first).crl("Milan", "VCEK"));
    assert.deepEqual(first.writeErrors, []);
    const saved = JSON.parse(await Deno.readTextFile(file));
    assert.deepEqual(Object.values(saved.marks), [{
      number: "7",
      issued: "2026-05-29T00:00:00.000Z",
    }]);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    await putCrl(old);
    const restarted = kdsClient(
      authority,
      dir,
      new RevocationMarks({ file, persistSimulated: true }),
    );
    await assert.rejects(
      restarted.crl("Milan", "VCEK"),
      rollback(/\.crlNumber$/, /^6 is older than the accepted 7/),
    );
    // Without the file (a verifier with memory only) the same CRL is accepted: what the file adds.
    assert.ok(await kdsClient(authority, dir).crl("Milan", "VCEK"));
  });
});

Deno.test("a damaged marks file fails every CRL check closed and is left as it is", async () => {
  const authority = await sharedAuthority("Milan");
  await withTempDir(async (dir) => {
    const { putCrl } = await collateralDir(authority, dir);
    await putCrl(await crlOf(authority, day(29), 7n));
    const file = `${dir}/${REVOCATION_MARKS_FILE}`;
    for (
      const [content, reason] of [
        ["{not json", /is not JSON/],
        [`{"version":2,"marks":{}}`, /not a version 1 marks file/],
        [
          `{"version":1,"marks":{"k":{"number":"-1","issued":"2026-05-29T00:00:00Z"}}}`,
          /number is not a non-negative integer/,
        ],
        [
          `{"version":1,"marks":{"k":{"number":null,"issued":"yesterday"}}}`,
          /issued is not a time/,
        ],
      ] as const
    ) {
      await Deno.writeTextFile(file, content);
      const kds = kdsClient(authority, dir, new RevocationMarks({ file, persistSimulated: true }));
      await assert.rejects(
        kds.crl("Milan", "VCEK"),
        (e: unknown) =>
          e instanceof RevocationMarksFileError && e.field === file && reason.test(e.reason),
      );
      assert.equal(await Deno.readTextFile(file), content);
    }
  });
});

Deno.test("an older AMD CRL from the network is refused before it is cached", async () => {
  const authority = await sharedAuthority("Milan");
  let crl = await crlOf(authority, day(29), 7n);
  const chainPem = authority.askPem + "\n" + authority.arkPem + "\n";
  // AMD's KDS answered in-process: no request leaves the machine.
  const kds: typeof fetch = (input) => {
    const url = String(input instanceof Request ? input.url : input);
    const body = url === CRL_URL
      ? crl
      : url === certChainUrl("Milan", "VCEK", BASE)
      ? new TextEncoder().encode(chainPem)
      : undefined;
    return Promise.resolve(
      body
        ? new Response(body as Uint8Array<ArrayBuffer>)
        : new Response("not found", { status: 404 }),
    );
  };
  const marks = new RevocationMarks();
  const client = (cacheDir: string) =>
    new AmdKdsClient({
      fetcher: new CachingFetcher({ cacheDir, fetch: kds, retries: 0, clock: () => NOW }),
      baseUrl: BASE,
      crlBaseUrl: BASE,
      clock: () => NOW,
      trustedRoots: { Milan: [authority.rootFingerprint] },
      revocationMarks: marks,
    });
  const cachedCrls = async (dir: string) =>
    (await listCache(dir)).filter((e) => e.url === CRL_URL).length;
  await withTempDir(async (dir) => {
    assert.ok(await client(`${dir}/a`).crl("Milan", "VCEK"));
    assert.equal(await cachedCrls(`${dir}/a`), 1);
    crl = await crlOf(authority, day(28), 6n);
    await assert.rejects(
      client(`${dir}/b`).crl("Milan", "VCEK"),
      rollback(/\.crlNumber$/, /accepted 7/),
    );
    assert.equal(await cachedCrls(`${dir}/b`), 0);
  });
});
