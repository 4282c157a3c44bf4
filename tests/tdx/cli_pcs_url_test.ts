import { strict as assert } from "node:assert";
import { encodeHex } from "../../util/bytes/mod.ts";
import { ExitCode } from "../../cli/exit_codes.ts";
import { runTdxEvidenceVerify } from "../../cli/commands/evidence_tdx.ts";
import { listCache } from "../../collateral/mod.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { simulatedTdxReference } from "../helpers/simulated_tdx_reference.ts";

/** A local PCS serving one simulated authority's collateral; counts requests. */
async function simulatedPcs(authority: SimulatedTdxAuthority) {
  const c = await authority.collateral({ now: new Date() });
  let hits = 0;
  const bytes = (b: Uint8Array | undefined) => new Uint8Array(b!);
  const chain = (name: string, pem: string) => ({ [name]: encodeURIComponent(pem) });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    hits++;
    const path = new URL(req.url).pathname;
    if (path === "/tdx/certification/v4/tcb") {
      return new Response(bytes(c.tcbInfo), {
        headers: chain("TCB-Info-Issuer-Chain", c.tcbInfoIssuerChain),
      });
    }
    if (path === "/tdx/certification/v4/qe/identity") {
      return new Response(bytes(c.qeIdentity), {
        headers: chain("SGX-Enclave-Identity-Issuer-Chain", c.qeIdentityIssuerChain),
      });
    }
    if (path === "/sgx/certification/v4/pckcrl") {
      return new Response(bytes(c.pckCrl), {
        headers: chain("SGX-PCK-CRL-Issuer-Chain", c.pckCrlIssuerChain!),
      });
    }
    if (path === "/root.crl") return new Response(bytes(c.rootCaCrl));
    return new Response("not found", { status: 404 });
  });
  const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  return { base, hits: () => hits, close: () => server.shutdown() };
}

Deno.test("--pcs-url: collateral under the simulated root named by reference values verifies and is cached; without that entry it is refused and nothing is cached", () =>
  withTempDir(async (dir) => {
    const authority = await SimulatedTdxAuthority.generate();
    const pcs = await simulatedPcs(authority);
    try {
      const reportData = new Uint8Array(64).fill(9);
      await Deno.writeFile(`${dir}/q.bin`, await authority.createQuote({ reportData }));
      await Deno.writeTextFile(
        `${dir}/rv.json`,
        JSON.stringify([await simulatedTdxReference(authority)]),
      );
      const online = {
        quote: `${dir}/q.bin`,
        pcsBaseUrl: pcs.base,
        rootCaCrlUrl: `${pcs.base}/root.crl`,
        reportData: encodeHex(reportData),
        json: true,
      };

      // Only Intel's root is trusted: the simulated collateral is refused before caching.
      const refused = await runTdxEvidenceVerify({ ...online, cacheDir: `${dir}/intel-only` });
      assert.notEqual(refused.exitCode, ExitCode.Ok, refused.stdout);
      assert.equal((await listCache(`${dir}/intel-only/collateral`)).length, 0);

      // The reference values name the simulated root: verified, and the collateral cached.
      const ok = await runTdxEvidenceVerify({
        ...online,
        cacheDir: `${dir}/cache`,
        referenceValues: `${dir}/rv.json`,
      });
      assert.equal(ok.exitCode, ExitCode.Ok, ok.stderr + ok.stdout);
      assert.equal(JSON.parse(ok.stdout).result.referenceValueIndex, 0);
      assert.ok((await listCache(`${dir}/cache/collateral`)).length >= 4);

      // Offline from that cache: no request reaches the server.
      const before = pcs.hits();
      const cached = await runTdxEvidenceVerify({
        ...online,
        cacheDir: `${dir}/cache`,
        referenceValues: `${dir}/rv.json`,
        offline: true,
      });
      assert.equal(cached.exitCode, ExitCode.Ok, cached.stderr + cached.stdout);
      assert.equal(pcs.hits(), before);
    } finally {
      await pcs.close();
    }
  }));
