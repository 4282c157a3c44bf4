import { strict as assert } from "node:assert";
import { ChainCache } from "../../../x509/chain_cache.ts";
import { TdxVerificationCache } from "../../../tdx/verify/verification_cache.ts";
import { UnavailableError, VerificationError } from "../../../util/errors/mod.ts";
import { verifyTdxQuote, type VerifyTdxQuoteOptions } from "../../../tdx/verify/verify_quote.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../../tdx/verify/intel_root.ts";
import { readTdxCollateralDir } from "../../../tdx/pcs/collateral_dir.ts";
import type { TdxCollateral } from "../../../tdx/verify/collateral_bundle.ts";
import {
  conformanceFile,
  conformanceTest,
  readConformance,
  readConformanceManifest,
} from "../../conformance.ts";

const UPTODATE = "tdx/v4-phala-b0c06f-uptodate";
const UPTODATE_NOW = new Date("2025-06-19T11:32:27Z");

function collateral(dir: string): Promise<TdxCollateral> {
  return readTdxCollateralDir(conformanceFile(dir).pathname);
}

async function options(
  dir: string,
  extra: Partial<VerifyTdxQuoteOptions> = {},
): Promise<VerifyTdxQuoteOptions> {
  return {
    now: UPTODATE_NOW,
    trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
    collateral: await collateral(dir),
    ...extra,
  };
}

conformanceTest(
  "every vector with collateral verifies at its documented time to MANIFEST's TCB status",
  async () => {
    const manifest = await readConformanceManifest();
    let n = 0;
    // deno-lint-ignore no-explicit-any
    for (const v of manifest.tdx as any[]) {
      if (!v.tcb_evaluation) continue;
      const hasPckCrl = v.files.includes("pck_crl.der");
      const result = await verifyTdxQuote(await readConformance(`${v.dir}/quote.bin`), {
        now: new Date(v.validity.suggested_fixed_now),
        trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
        collateral: await collateral(v.dir),
        // v4-trustee-00a06d-outofdate ships no PCK CRL: its revocation check is turned off here,
        // explicitly, and the result says so.
        requirePckCrl: hasPckCrl,
      });
      assert.equal(result.tcb.status, v.tcb_evaluation.status, v.name);
      assert.equal(result.pckRevocationChecked, hasPckCrl, v.name);
      assert.equal(result.rootCaRevocationChecked, true, v.name);
      assert.equal(result.rootFingerprint, INTEL_SGX_ROOT_CA_SHA256, v.name);
      n++;
    }
    assert.equal(n, 4);
  },
);

conformanceTest(
  "the vector without a PCK CRL is refused unless that check is turned off",
  async () => {
    const dir = "tdx/v4-trustee-00a06d-outofdate";
    await assert.rejects(
      verifyTdxQuote(await readConformance(`${dir}/quote.bin`), {
        ...(await options(dir)),
        now: new Date("2025-10-28T07:45:09Z"),
      }),
      (e: unknown) => e instanceof UnavailableError && e.field === "collateral.pckCrl",
    );
  },
);

async function rejectsUpToDate(
  mutate: (quote: Uint8Array) => void,
  field: RegExp,
  extra: Partial<VerifyTdxQuoteOptions> = {},
) {
  const quote = await readConformance(`${UPTODATE}/quote.bin`);
  mutate(quote);
  await assert.rejects(verifyTdxQuote(quote, await options(UPTODATE, extra)), (e: unknown) => {
    assert.ok(e instanceof VerificationError, `expected VerificationError, got ${e}`);
    assert.match(e.field, field);
    return true;
  });
}

conformanceTest("rejects a quote with a flipped byte in the body (MRTD)", async () => {
  await rejectsUpToDate((q) => q[48 + 16 + 48 + 48 + 24] ^= 1, /quote\.signatureData\.signature/);
});

conformanceTest("rejects a quote with a flipped byte in the report data", async () => {
  await rejectsUpToDate((q) => q[631] ^= 0x80, /quote\.signatureData\.signature/);
});

conformanceTest("rejects a quote with a flipped byte in the quote signature", async () => {
  await rejectsUpToDate((q) => q[636 + 10] ^= 1, /quote\.signatureData\.signature/);
});

conformanceTest("rejects a quote with a flipped byte in the attestation key", async () => {
  await rejectsUpToDate((q) => q[636 + 64 + 5] ^= 1, /quote\.(signatureData|attestationKey)/);
});

conformanceTest("rejects a quote with a flipped byte in the QE report", async () => {
  await rejectsUpToDate((q) => q[636 + 128 + 6 + 100] ^= 1, /qeReportSignature/);
});

conformanceTest("rejects a quote with a flipped byte in the QE report signature", async () => {
  await rejectsUpToDate((q) => q[636 + 128 + 6 + 384 + 3] ^= 1, /qeReportSignature/);
});

conformanceTest("rejects a quote with a flipped byte in the QE authentication data", async () => {
  await rejectsUpToDate((q) => q[636 + 128 + 6 + 384 + 64 + 2 + 7] ^= 1, /qeReport\.reportData/);
});

conformanceTest("rejects a PCK chain that ends in a root other than the pinned one", async () => {
  await rejectsUpToDate(() => {}, /pckChain|IssuerChain/, {
    trustAnchors: ["00".repeat(32)],
  });
});

conformanceTest("rejects TCB info whose signature was broken", async () => {
  const c = await collateral(UPTODATE);
  const text = new TextDecoder().decode(c.tcbInfo);
  const i = text.indexOf('"signature":"') + 13;
  const flipped = text.slice(0, i) + (text[i] === "0" ? "1" : "0") + text.slice(i + 1);
  await rejectsUpToDate(() => {}, /tcbInfo\.signature/, {
    collateral: { ...c, tcbInfo: new TextEncoder().encode(flipped) },
  });
});

conformanceTest("rejects TCB info whose signed bytes were changed", async () => {
  const c = await collateral(UPTODATE);
  const text = new TextDecoder().decode(c.tcbInfo).replace(
    '"tcbEvaluationDataNumber":17',
    '"tcbEvaluationDataNumber":18',
  );
  await rejectsUpToDate(() => {}, /tcbInfo\.signature/, {
    collateral: { ...c, tcbInfo: new TextEncoder().encode(text) },
  });
});

conformanceTest("rejects genuine TCB info of another FMSPC", async () => {
  const other = await collateral("tdx/v5-phala-90c06f-tcb-not-supported");
  const c = await collateral(UPTODATE);
  await rejectsUpToDate(() => {}, /tcbInfo\.fmspc/, {
    now: new Date("2026-02-18T11:58:51Z"),
    collateral: { ...other, pckCrl: other.pckCrl, rootCaCrl: c.rootCaCrl },
  });
});

conformanceTest("rejects QE identity whose signature was broken", async () => {
  const c = await collateral(UPTODATE);
  const text = new TextDecoder().decode(c.qeIdentity).replace('"isvprodid":2', '"isvprodid":3');
  await rejectsUpToDate(() => {}, /qeIdentity\.signature/, {
    collateral: { ...c, qeIdentity: new TextEncoder().encode(text) },
  });
});

conformanceTest("rejects expired collateral (after the TCB info's nextUpdate)", async () => {
  await rejectsUpToDate(() => {}, /tcbInfo|qeIdentity|crls|pckChain/, {
    now: new Date("2025-07-25T00:00:00Z"),
  });
});

conformanceTest("rejects collateral not yet issued at now", async () => {
  await rejectsUpToDate(() => {}, /tcbInfo|qeIdentity|crls/, {
    now: new Date("2025-06-19T10:20:00Z"),
  });
});

conformanceTest("rejects a PCK CRL that is not from the quote's PCK CA", async () => {
  const c = await collateral(UPTODATE);
  await rejectsUpToDate(() => {}, /collateral\.pckCrl/, {
    collateral: { ...c, pckCrl: c.rootCaCrl },
  });
});

conformanceTest("verifies again from the cache with the same result", async () => {
  const cache = new ChainCache();
  const quote = await readConformance(`${UPTODATE}/quote.bin`);
  const opts = await options(UPTODATE, { cache });
  const a = await verifyTdxQuote(quote, opts);
  const b = await verifyTdxQuote(quote, opts);
  assert.equal(a.tcb.status, "UpToDate");
  assert.equal(b.tcb.status, "UpToDate");
  // A cached chain does not make a forged quote pass.
  const forged = quote.slice();
  forged[200] ^= 1;
  await assert.rejects(verifyTdxQuote(forged, opts), VerificationError);
});

conformanceTest(
  "the verification cache serves repeated quotes and never outlives its window",
  async () => {
    const verificationCache = new TdxVerificationCache();
    const quote = await readConformance(`${UPTODATE}/quote.bin`);
    const opts = await options(UPTODATE, { verificationCache });
    assert.equal((await verifyTdxQuote(quote, opts)).tcb.status, "UpToDate");
    assert.equal((await verifyTdxQuote(quote, opts)).tcb.status, "UpToDate");
    assert.deepEqual(verificationCache.stats, { hits: 2, misses: 2 });
    // A forged quote still fails: signatures are checked on every call.
    const forged = quote.slice();
    forged[300] ^= 1;
    await assert.rejects(verifyTdxQuote(forged, opts), VerificationError);
    // Past the collateral's nextUpdate the cached entry is not used: verification fails again.
    await assert.rejects(
      verifyTdxQuote(quote, { ...opts, now: new Date("2025-07-25T00:00:00Z") }),
      VerificationError,
    );
    // Other collateral bytes (a broken TCB info signature) are a different entry: rejected.
    const c = opts.collateral;
    const text = new TextDecoder().decode(c.tcbInfo).replace('"pceId":"0000"', '"pceId":"0001"');
    await assert.rejects(
      verifyTdxQuote(quote, {
        ...opts,
        collateral: { ...c, tcbInfo: new TextEncoder().encode(text) },
      }),
      (e: unknown) => e instanceof VerificationError && e.field === "tcbInfo.signature",
    );
  },
);

conformanceTest(
  "a warm verification cache refuses what a cold one refuses: another root, before the collateral's issueDate, past a CRL's nextUpdate, a tampered PCK CRL signature",
  async () => {
    const verificationCache = new TdxVerificationCache();
    const quote = await readConformance(`${UPTODATE}/quote.bin`);
    const opts = await options(UPTODATE, { verificationCache });
    assert.equal((await verifyTdxQuote(quote, opts)).tcb.status, "UpToDate");
    // Copies of the same bytes (as the PCS client hands out for every request) hit the entry.
    const c = opts.collateral;
    const copy: TdxCollateral = {
      ...c,
      tcbInfo: c.tcbInfo.slice(),
      qeIdentity: c.qeIdentity.slice(),
      pckCrl: c.pckCrl!.slice(),
      rootCaCrl: c.rootCaCrl!.slice(),
    };
    assert.equal(
      (await verifyTdxQuote(quote, { ...opts, collateral: copy })).tcb.status,
      "UpToDate",
    );
    assert.deepEqual(verificationCache.stats, { hits: 2, misses: 2 });
    // The same bytes under another root: never the entry verified under Intel's.
    await assert.rejects(
      verifyTdxQuote(quote, { ...opts, collateral: copy, trustAnchors: ["ab".repeat(32)] }),
      VerificationError,
    );
    // Before the QE identity's issueDate (2025-06-19T10:32:27Z), though every CRL is current.
    await assert.rejects(
      verifyTdxQuote(quote, { ...opts, collateral: copy, now: new Date("2025-06-19T10:20:00Z") }),
      (e: unknown) => e instanceof VerificationError && /qeIdentity/.test(e.field),
    );
    // Past the PCK CRL's nextUpdate (2025-07-19T10:00:35Z) while TCB info and QE identity are
    // still current (to 10:16:03 and 10:32:27): only the entry's window can refuse this.
    await assert.rejects(
      verifyTdxQuote(quote, { ...opts, collateral: copy, now: new Date("2025-07-19T10:05:00Z") }),
      VerificationError,
    );
    // A PCK CRL whose signature is changed in its last byte is other bytes: verified, and refused.
    const crl = c.pckCrl!.slice();
    crl[crl.length - 1] ^= 1;
    await assert.rejects(
      verifyTdxQuote(quote, { ...opts, collateral: { ...copy, pckCrl: crl } }),
      (e: unknown) =>
        e instanceof VerificationError && /crls/.test(e.field) &&
        /PCK Platform CA/.test(e.message),
    );
    // The genuine collateral still verifies from the warm entry afterwards.
    assert.equal(
      (await verifyTdxQuote(quote, { ...opts, collateral: copy })).tcb.status,
      "UpToDate",
    );
  },
);

conformanceTest(
  "rejects real quotes with collateral signed by a simulated TCB signing chain",
  async () => {
    const { SimulatedTdxAuthority } = await import("../../../testing/tdx/authority.ts");
    const fake = await (await SimulatedTdxAuthority.generate()).collateral({ now: UPTODATE_NOW });
    const real = await collateral(UPTODATE);
    await rejectsUpToDate(() => {}, /tcbInfoIssuerChain|qeIdentityIssuerChain/, {
      collateral: { ...real, tcbInfo: fake.tcbInfo, tcbInfoIssuerChain: fake.tcbInfoIssuerChain },
    });
  },
);

conformanceTest("rejects a PCK chain presented as the TCB info signing chain", async () => {
  const real = await collateral(UPTODATE);
  const pckChain = new TextDecoder().decode(
    await readConformance(`${UPTODATE}/pck_chain_from_quote.pem`),
  );
  const quote = await readConformance(`${UPTODATE}/quote.bin`);
  await assert.rejects(
    verifyTdxQuote(quote, {
      ...(await options(UPTODATE)),
      collateral: { ...real, tcbInfoIssuerChain: pckChain },
    }),
    (e: unknown) =>
      e instanceof VerificationError && e.field === "tcbInfoIssuerChain" &&
      /issued directly by the root/.test(e.message),
  );
});

conformanceTest("rejects a quote whose QE vendor is not Intel", async () => {
  await rejectsUpToDate((q) => q[12] ^= 1, /quote\.header\.qeVendorId/);
});

conformanceTest(
  "a PCK chain of look-alike certificates is refused after a bounded search, not explored whole",
  async () => {
    // What anyone who hands a quote to a verifier (a pod attesting to the Coordinator) controls:
    // the PCK chain. 5 levels of 6 certificates sharing names and keys make 7776 paths whose
    // links all verify; an unbounded search walks them all (exponential in the level width).
    const { lookAlikeFanOut } = await import("../../x509/pki_fixture.ts");
    const { encodePem } = await import("../../../util/bytes/pem.ts");
    const { parseTdxQuote } = await import("../../../tdx/quote/parse_quote.ts");
    const { MAX_PATH_SIGNATURE_CHECKS } = await import("../../../x509/chain.ts");
    const { leaf, pool } = await lookAlikeFanOut(5, 6);
    const pem = [leaf, ...pool].map((c) => encodePem("CERTIFICATE", c.cert.der)).join("");
    const real = parseTdxQuote(await readConformance(`${UPTODATE}/quote.bin`));
    const qc = real.signatureData.qeCertification;
    const forged = {
      ...real,
      signatureData: {
        ...real.signatureData,
        qeCertification: {
          ...qc,
          certification: { ...qc.certification, data: new TextEncoder().encode(pem) },
        },
      },
    };
    await assert.rejects(
      verifyTdxQuote(forged, {
        ...(await options(UPTODATE)),
        cache: new ChainCache(),
        verificationCache: new TdxVerificationCache(),
      }),
      (e: unknown) =>
        e instanceof VerificationError && e.field === "quote.pckChain" &&
        e.reason.includes(`within ${MAX_PATH_SIGNATURE_CHECKS} signature checks`),
    );
  },
);
