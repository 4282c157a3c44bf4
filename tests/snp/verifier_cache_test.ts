/**
 * What a verifier keeps between verifications (parsed auxblob tables, certificates, VEK keys, the
 * chain cache) never stands in for a check whose inputs differ: every test warms the caches with
 * genuine evidence first, then hands in evidence that differs in one input and must be refused.
 * Also the claims' text the verifier writes directly (no intermediate objects per request).
 */
import assert from "node:assert/strict";
import { VerificationError } from "../../util/errors/mod.ts";
import { CERT_TABLE_GUIDS, encodeCertTable, parseCertTable } from "../../snp/abi/cert_table.ts";
import { describeTcb, type SnpTcb } from "../../snp/abi/tcb.ts";
import { SnpEvidenceVerifier } from "../../snp/verifier.ts";
import { ChainCache } from "../../x509/chain_cache.ts";
import { parseCertificate } from "../../x509/certificate.ts";
import { parseCrl } from "../../x509/crl.ts";
import { sharedAuthority } from "./simulated_fixture.ts";

const NOW = new Date("2026-06-01T00:00:00Z");
const REPORT_DATA = new Uint8Array(64).fill(7);

/** A verifier whose caches hold the chain, VCEK and key of `aux`, verified once at NOW. */
async function warmed() {
  const authority = await sharedAuthority("Milan");
  const { report, aux } = await authority.createReport({
    reportData: REPORT_DATA,
    hostData: new Uint8Array(32).fill(1),
  });
  const cache = new ChainCache();
  const verifier = new SnpEvidenceVerifier({
    referenceValues: [authority.referenceValue()],
    chainCache: cache,
  });
  await verifier.verify({ platform: "snp", report, aux }, { reportData: REPORT_DATA, now: NOW });
  return { authority, report, aux, cache, verifier };
}

async function refused(
  promise: Promise<unknown>,
  field: RegExp,
  reason?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.match(e.field, field);
    if (reason) assert.match(e.message, reason);
    return true;
  });
}

Deno.test("cached VCEK: the same evidence verifies again from the caches", async () => {
  const { report, aux, cache, verifier } = await warmed();
  const hits = cache.stats.hits;
  const claims = await verifier.verify(
    { platform: "snp", report: report.slice(), aux: aux.slice() },
    { reportData: REPORT_DATA, now: NOW },
  );
  assert.deepEqual(claims.reportData, REPORT_DATA);
  assert.equal(cache.stats.hits, hits + 1);
});

Deno.test("cached VCEK: a report altered in any signed field is refused by its signature", async () => {
  const { report, aux, verifier } = await warmed();
  // Host data, report data, measurement, policy, report IDs: all under the signature.
  for (const offset of [0xc0, 0x50, 0x90, 0x08, 0x140, 0x160, 0x17f]) {
    const tampered = report.slice();
    tampered[offset]! ^= 0x01;
    await refused(
      verifier.verify(
        { platform: "snp", report: tampered, aux },
        { reportData: tampered.slice(0x50, 0x90), now: NOW },
      ),
      /^report\.signature$/,
    );
  }
});

Deno.test("cached VCEK: another VCEK DER with the same key must verify its own chain", async () => {
  const { report, aux, verifier } = await warmed();
  const entries = parseCertTable(aux);
  const vcek = entries.find((e) => e.kind === "VCEK")!.data.slice();
  const ask = entries.find((e) => e.kind === "ASK")!.data;
  const ark = entries.find((e) => e.kind === "ARK")!.data;
  // The same public key (the report's signature still verifies with it), another signature
  // value: the ASK never signed these bytes.
  vcek[vcek.length - 3]! ^= 0x10;
  assert.deepEqual(
    parseCertificate(vcek, "vcek").spki,
    parseCertificate(entries[0]!.data, "vcek").spki,
  );
  const forged = encodeCertTable([
    { guid: CERT_TABLE_GUIDS.VCEK, data: vcek },
    { guid: CERT_TABLE_GUIDS.ASK, data: ask },
    { guid: CERT_TABLE_GUIDS.ARK, data: ark },
  ]);
  await refused(
    verifier.verify({ platform: "snp", report, aux: forged }, {
      reportData: REPORT_DATA,
      now: NOW,
    }),
    /^vcekChain/,
  );
});

Deno.test("cached VCEK: an auxblob buffer the caller rewrote in place is read afresh", async () => {
  const { report, aux, verifier } = await warmed();
  const reused = aux.slice();
  await verifier.verify({ platform: "snp", report, aux: reused }, {
    reportData: REPORT_DATA,
    now: NOW,
  });
  const vcek = parseCertTable(reused).find((e) => e.kind === "VCEK")!;
  vcek.data[vcek.data.length - 3]! ^= 0x10; // in place: the same Uint8Array object
  await refused(
    verifier.verify({ platform: "snp", report, aux: reused }, {
      reportData: REPORT_DATA,
      now: NOW,
    }),
    /^vcekChain/,
  );
});

Deno.test("cached chain: refused at a time outside the certificates' validity", async () => {
  const { report, aux, verifier } = await warmed();
  for (const now of [new Date("2034-01-01T00:00:00Z"), new Date("2025-06-01T00:00:00Z")]) {
    await refused(
      verifier.verify({ platform: "snp", report, aux }, { reportData: REPORT_DATA, now }),
      /validity$/,
    );
  }
});

Deno.test("cached chain: a verifier with a CRL revoking the ASK refuses it (shared chain cache)", async () => {
  const { authority, report, aux, cache } = await warmed();
  const ask = parseCertificate(authority.askDer, "ask");
  const crl = parseCrl(
    await authority.issueCrl({
      revokedSerials: [ask.serialNumber],
      thisUpdate: new Date(NOW.getTime() - 3600_000),
    }),
    "crl",
  );
  const revoking = new SnpEvidenceVerifier({
    referenceValues: [authority.referenceValue()],
    chainCache: cache,
    crls: [crl],
  });
  await refused(
    revoking.verify({ platform: "snp", report, aux }, { reportData: REPORT_DATA, now: NOW }),
    /serialNumber$/,
    /revoked/,
  );
});

Deno.test("the claims describe each TCB as describeTcb's name=value pairs (Milan and Turin)", async () => {
  for (const product of ["Milan", "Turin"] as const) {
    const authority = await sharedAuthority(product);
    const { report, aux } = await authority.createReport({ reportData: REPORT_DATA });
    const verifier = new SnpEvidenceVerifier({ referenceValues: [authority.referenceValue()] });
    const result = await verifier.verifyDetailed({ platform: "snp", report, aux }, {
      reportData: REPORT_DATA,
      now: NOW,
    });
    const text = (t: SnpTcb) =>
      Object.entries(describeTcb(t)).map(([k, v]) => `${k}=${v}`).join(" ");
    const d = result.claims.details;
    assert.equal(d.reportedTcb, text(result.report.reportedTcb), product);
    assert.equal(d.committedTcb, text(result.report.committedTcb), product);
    assert.equal(d.launchTcb, text(result.report.launchTcb), product);
    assert.equal(d.currentTcb, text(result.report.currentTcb), product);
    assert.equal(d.reportedTcb!.includes("fmc="), product === "Turin");
  }
});
