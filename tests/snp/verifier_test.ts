import assert from "node:assert/strict";
import { decodePem, encodeHex } from "../../util/bytes/mod.ts";
import {
  ParseError,
  UnavailableError,
  ValidationError,
  VerificationError,
} from "../../util/errors/mod.ts";
import { IssueList } from "../../util/json/mod.ts";
import {
  defaultSnpReferenceValues,
  readSnpReferenceValue,
  type SnpReferenceValue,
} from "../../snp/reference_values.ts";
import { type SnpCertificateFiles, SnpEvidenceVerifier } from "../../snp/verifier.ts";
import { ChainCache } from "../../x509/chain_cache.ts";
import { AMD_ARK_SHA256 } from "../../snp/verify/roots.ts";
import { conformanceTest } from "../conformance.ts";
import { readVectorFiles, type SnpVector, snpVectors } from "./vectors.ts";

async function vector(name: string): Promise<SnpVector> {
  const v = (await snpVectors()).find((x) => x.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  return v;
}

async function certificatesOf(v: SnpVector): Promise<SnpCertificateFiles> {
  const f = await readVectorFiles(v);
  return {
    vek: f.vek,
    intermediate: new TextEncoder().encode(f.intermediatePem),
    ark: new TextEncoder().encode(f.arkPem),
  };
}

async function verifyVector(
  v: SnpVector,
  opts: {
    report?: Uint8Array;
    certificates?: SnpCertificateFiles;
    referenceValues?: SnpReferenceValue[];
    now?: Date;
    reportData?: Uint8Array;
    cache?: ChainCache;
  } = {},
) {
  const files = await readVectorFiles(v);
  const verifier = new SnpEvidenceVerifier({
    referenceValues: opts.referenceValues ?? defaultSnpReferenceValues(),
    certificates: opts.certificates ?? await certificatesOf(v),
    chainCache: opts.cache,
    // The vectors ship no AMD CRL: revocation is skipped explicitly here (the default requires it).
    requireRevocationCheck: false,
  });
  return await verifier.verifyDetailed(
    { platform: "snp", report: opts.report ?? files.report },
    { now: opts.now ?? new Date(v.suggested_fixed_now), reportData: opts.reportData },
  );
}

/** A reference value for `v`'s product built from the defaults with `overrides`. */
function referenceFor(v: SnpVector, overrides: Partial<SnpReferenceValue>): SnpReferenceValue[] {
  const base = defaultSnpReferenceValues().find((r) => r.ProductName === v.product)!;
  return [{ ...base, ...overrides }];
}

/** `base` with the minimum TCB changed by `changes`, as a one-entry reference value list. */
function withMinimumTcb(
  base: SnpReferenceValue,
  changes: Partial<SnpReferenceValue["MinimumTCB"]>,
): SnpReferenceValue[] {
  return [{ ...base, MinimumTCB: { ...base.MinimumTCB, ...changes } }];
}

function rejects<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
  field: string | RegExp,
) {
  return assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    const f = (e as unknown as { field: string }).field;
    if (typeof field === "string") assert.equal(f, field, String(e));
    else assert.match(f, field, String(e));
    return true;
  });
}

conformanceTest("every genuine SNP vector verifies at its documented time", async () => {
  for (const v of await snpVectors()) {
    if (v.name === "milan-v2-gosevguest-debug") continue;
    // Each at the VMPL it was taken from (the defaults require VMPL 0; the AWS vector is VMPL 1).
    const result = await verifyVector(v, {
      referenceValues: referenceFor(v, { VMPL: v.expected.vmpl as number }),
    });
    assert.equal(result.vek.kind, v.signing_key, v.name);
    assert.equal(result.vek.product, v.product, v.name);
    assert.equal(result.simulatedRoot, false);
    assert.equal(encodeHex(result.claims.measurement), v.expected.measurement);
    assert.equal(encodeHex(result.claims.hostData), v.expected.host_data);
    assert.equal(encodeHex(result.claims.reportData), v.expected.report_data);
    assert.equal(result.claims.details.product, v.product);
  }
});

conformanceTest("the debug-policy vector is rejected under default reference values", async () => {
  const v = await vector("milan-v2-gosevguest-debug");
  await rejects(verifyVector(v), ValidationError, "report.policy.debug");
});

conformanceTest("the debug-policy vector is genuine: accepted when debug is allowed", async () => {
  const v = await vector("milan-v2-gosevguest-debug");
  const base = referenceFor(v, {})[0]!;
  const result = await verifyVector(v, {
    referenceValues: [{ ...base, GuestPolicy: { ...base.GuestPolicy, Debug: true } }],
  });
  assert.equal(result.report.policy.debug, true);
});

conformanceTest(
  "a Simulated-SNP value naming AMD's real ARK (not from a parsed manifest) verifies no real report",
  async () => {
    // readSnpReferenceValue refuses it; built in code, it must not pass a genuine report either:
    // a chain to AMD's ARK is judged only by real entries, with revocation required.
    const v = await vector("milan-v2-virtee");
    const simulated = referenceFor(v, {
      Platform: "Simulated-SNP",
      SimulatedRootSHA256: AMD_ARK_SHA256.Milan,
    });
    await assert.rejects(
      verifyVector(v, { referenceValues: simulated }),
      (e: unknown) =>
        e instanceof VerificationError && e.field === "ReferenceValues.snp" &&
        /no reference value of this product trusts/.test(e.message),
    );
  },
);

conformanceTest("accepts the exact report data and rejects any other", async () => {
  const v = await vector("milan-v2-virtee");
  const files = await readVectorFiles(v);
  const reportData = files.report.slice(0x50, 0x90);
  await verifyVector(v, { reportData });
  reportData[63]! ^= 1;
  await rejects(verifyVector(v, { reportData }), ValidationError, "report.report_data");
});

conformanceTest("rejects a report with a flipped byte in the signed part", async () => {
  const v = await vector("milan-v2-virtee");
  const report = (await readVectorFiles(v)).report;
  report[0x90]! ^= 0x01; // first MEASUREMENT byte
  await rejects(verifyVector(v, { report }), VerificationError, "report.signature");
});

conformanceTest("rejects a report with a flipped byte in the signature", async () => {
  const v = await vector("genoa-v3-azure");
  const report = (await readVectorFiles(v)).report;
  report[0x2a0 + 5]! ^= 0x80; // inside R
  await rejects(verifyVector(v, { report }), VerificationError, "report.signature");
  const report2 = (await readVectorFiles(v)).report;
  report2[0x2a0 + 72 + 3]! ^= 0x01; // inside S
  await rejects(verifyVector(v, { report: report2 }), VerificationError, "report.signature");
});

conformanceTest("rejects a report presented with the VCEK of another chip", async () => {
  const v = await vector("milan-v5-gcp-teekit");
  const other = await vector("milan-v2-virtee");
  const certificates = { ...await certificatesOf(v), vek: (await readVectorFiles(other)).vek };
  await rejects(verifyVector(v, { certificates }), VerificationError, /^vek\./);
});

conformanceTest("rejects a report whose CHIP_ID is not the VCEK's hwID", async () => {
  // Same TCB, other chip: the hwID rule fires (before the signature, which would fail too).
  const v = await vector("milan-v2-virtee");
  const report = (await readVectorFiles(v)).report;
  report[0x1a0]! ^= 0xff;
  await rejects(verifyVector(v, { report }), VerificationError, "vek.hwID");
});

conformanceTest("rejects a Genoa report verified against the Milan root", async () => {
  const v = await vector("genoa-v3-azure");
  const milan = await vector("milan-v2-virtee");
  const genoa = await certificatesOf(v);
  const milanCerts = await certificatesOf(milan);
  await rejects(
    verifyVector(v, { certificates: { ...genoa, ark: milanCerts.ark } }),
    VerificationError,
    /^vcekChain/,
  );
  await rejects(
    verifyVector(v, { certificates: { ...genoa, intermediate: milanCerts.intermediate } }),
    VerificationError,
    /^vcekChain/,
  );
});

conformanceTest("rejects an ASK that the ARK did not sign", async () => {
  const v = await vector("milan-v2-virtee");
  const certs = await certificatesOf(v);
  const askDer = decodePem(new TextDecoder().decode(certs.intermediate!), "CERTIFICATE")[0]!.der;
  const forged = askDer.slice();
  forged[forged.length - 10]! ^= 0x01; // inside the ARK's signature over the ASK
  await rejects(
    verifyVector(v, { certificates: { ...certs, intermediate: forged } }),
    VerificationError,
    /^vcekChain/,
  );
});

conformanceTest("rejects verification at a time outside the certificates' validity", async () => {
  const v = await vector("milan-v3-vlek-aws"); // the VLEK expired on 2025-12-10
  await rejects(
    verifyVector(v, { now: new Date("2026-01-01T00:00:00Z") }),
    VerificationError,
    /validity$/,
  );
  await rejects(
    verifyVector(v, { now: new Date("2024-12-01T00:00:00Z") }), // before notBefore
    VerificationError,
    /validity$/,
  );
});

conformanceTest("rejects a truncated and an extended report file", async () => {
  const v = await vector("milan-v2-virtee");
  const report = (await readVectorFiles(v)).report;
  await rejects(verifyVector(v, { report: report.subarray(0, 1183) }), ParseError, "report");
  const longer = new Uint8Array(1185);
  longer.set(report);
  await rejects(verifyVector(v, { report: longer }), ParseError, "report");
});

conformanceTest("rejects a TCB below the minimum, naming expected and actual", async () => {
  const v = await vector("milan-v5-gcp-teekit"); // snp SPL 27
  const base = referenceFor(v, {})[0]!;
  const referenceValues = withMinimumTcb(base, { SNPVersion: 28 });
  await assert.rejects(verifyVector(v, { referenceValues }), (e: unknown) => {
    assert.ok(e instanceof ValidationError);
    assert.equal(e.field, "report.reported_tcb.snp");
    assert.equal(e.expected, ">= 28");
    assert.equal(e.actual, "27");
    return true;
  });
  const ok = withMinimumTcb(base, { SNPVersion: 27 });
  await verifyVector(v, { referenceValues: ok });
});

conformanceTest("checks committed and launch TCB, not only the reported one", async () => {
  const v = await vector("milan-v3-vlek-aws"); // reported ucode 217, committed/launch 219
  const base = referenceFor(v, { VMPL: 1 })[0]!;
  await verifyVector(v, {
    referenceValues: withMinimumTcb(base, { MicrocodeVersion: 217 }),
  });
  await rejects(
    verifyVector(v, {
      referenceValues: withMinimumTcb(base, { MicrocodeVersion: 218 }),
    }),
    ValidationError,
    "report.reported_tcb.microcode",
  );
});

conformanceTest("rejects a chip ID that is not allowed and accepts a listed one", async () => {
  const v = await vector("genoa-v3-azure");
  await rejects(
    verifyVector(v, { referenceValues: referenceFor(v, { AllowedChipIDs: ["00".repeat(64)] }) }),
    ValidationError,
    "report.chip_id",
  );
  await verifyVector(v, {
    referenceValues: referenceFor(v, { AllowedChipIDs: [v.expected.chip_id as string] }),
  });
});

conformanceTest("rejects a VLEK-signed report presented with a VCEK chain", async () => {
  const v = await vector("milan-v3-vlek-aws");
  const vcekCerts = await certificatesOf(await vector("milan-v2-virtee"));
  await rejects(
    verifyVector(v, { certificates: vcekCerts }),
    VerificationError,
    "report.signer_info.signing_key",
  );
});

conformanceTest("rejects a VCEK passed through the ASVK and a VLEK through the ASK", async () => {
  const vlek = await vector("milan-v3-vlek-aws");
  const vcek = await vector("milan-v2-virtee");
  const vlekCerts = await certificatesOf(vlek);
  const vcekCerts = await certificatesOf(vcek);
  await rejects(
    verifyVector(vlek, { certificates: { ...vlekCerts, intermediate: vcekCerts.intermediate } }),
    VerificationError,
    /^vlekChain\..*subject$/,
  );
  await rejects(
    verifyVector(vcek, { certificates: { ...vcekCerts, intermediate: vlekCerts.intermediate } }),
    VerificationError,
    /^vcekChain\..*subject$/,
  );
});

conformanceTest("rejects a wrong measurement with expected and actual values", async () => {
  const v = await vector("turin-v5-oak");
  await assert.rejects(
    verifyVector(v, { referenceValues: referenceFor(v, { TrustedMeasurement: "ab".repeat(48) }) }),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.field, "report.measurement");
      assert.equal(e.expected, "ab".repeat(48));
      assert.equal(e.actual, v.expected.measurement);
      return true;
    },
  );
  await verifyVector(v, {
    referenceValues: referenceFor(v, { TrustedMeasurement: v.expected.measurement as string }),
  });
});

conformanceTest("rejects a report whose product has no reference value", async () => {
  const v = await vector("turin-v5-oak");
  const milanOnly = defaultSnpReferenceValues().filter((r) => r.ProductName === "Milan");
  await rejects(verifyVector(v, { referenceValues: milanOnly }), ValidationError, "product");
});

conformanceTest(
  "a forged report of a product no reference value covers is not a reference mismatch",
  async () => {
    // A ValidationError means "genuine, but not what the reference values allow" (the CLI reports
    // such evidence as verified): a report whose signature fails must never get that verdict.
    const v = await vector("turin-v5-oak");
    const report = (await readVectorFiles(v)).report;
    report[0x90]! ^= 0x01; // first MEASUREMENT byte
    const milanOnly = defaultSnpReferenceValues().filter((r) => r.ProductName === "Milan");
    await rejects(
      verifyVector(v, { report, referenceValues: milanOnly }),
      VerificationError,
      "report.signature",
    );
    // The genuine report is refused for its product even where revocation would be required and
    // no AMD CRL can be had: it is refused anyway, so its revocation status does not matter.
    const strict = new SnpEvidenceVerifier({
      referenceValues: milanOnly,
      certificates: await certificatesOf(v),
    });
    await rejects(
      strict.verifyDetailed(
        { platform: "snp", report: (await readVectorFiles(v)).report },
        { now: new Date(v.suggested_fixed_now) },
      ),
      ValidationError,
      "product",
    );
  },
);

conformanceTest("rejects a VMPL other than the required one", async () => {
  const v = await vector("milan-v3-vlek-aws"); // VMPL 1
  await rejects(
    verifyVector(v, { referenceValues: referenceFor(v, { VMPL: 0 }) }),
    ValidationError,
    "report.vmpl",
  );
  await verifyVector(v, { referenceValues: referenceFor(v, { VMPL: 1 }) });
});

conformanceTest(
  "the built-in defaults require VMPL 0: a real VMPL-1 report is refused unless VMPL 1 is named",
  async () => {
    const v = await vector("milan-v3-vlek-aws"); // VMPL 1 (AWS runs its guests behind an SVSM)
    const base = defaultSnpReferenceValues().find((r) => r.ProductName === v.product)!;
    assert.equal(base.VMPL, 0);
    await rejects(verifyVector(v, { referenceValues: [base] }), ValidationError, "report.vmpl");
  },
);

conformanceTest("rejects an ID key digest that is not trusted", async () => {
  const v = await vector("genoa-v3-azure");
  await rejects(
    verifyVector(v, {
      referenceValues: referenceFor(v, { TrustedIDKeyDigests: ["00".repeat(48)] }),
    }),
    ValidationError,
    "report.id_key_digest",
  );
  await verifyVector(v, {
    referenceValues: referenceFor(v, { TrustedIDKeyDigests: [v.expected.id_key_digest as string] }),
  });
});

conformanceTest("rejects a Turin report whose FMC SPL is below the minimum", async () => {
  const v = await vector("turin-v5-oak"); // fmc 0
  const base = referenceFor(v, {})[0]!;
  await rejects(
    verifyVector(v, {
      referenceValues: withMinimumTcb(base, { FMCVersion: 1 }),
    }),
    ValidationError,
    "report.reported_tcb.fmc",
  );
});

conformanceTest("a real report is rejected when only a simulated root is trusted", async () => {
  const v = await vector("milan-v2-virtee");
  const base = referenceFor(v, {})[0]!;
  await rejects(
    verifyVector(v, {
      referenceValues: [{
        ...base,
        Platform: "Simulated-SNP",
        SimulatedRootSHA256: "11".repeat(32),
      }],
    }),
    VerificationError,
    /^vcekChain/,
  );
});

conformanceTest(
  "reports what is missing when no ARK is given and no KDS is configured",
  async () => {
    const v = await vector("milan-v2-virtee");
    const certs = await certificatesOf(v);
    await rejects(
      verifyVector(v, { certificates: { vek: certs.vek, intermediate: certs.intermediate } }),
      UnavailableError,
      "ark",
    );
    await rejects(verifyVector(v, { certificates: {} }), UnavailableError, "vcek");
  },
);

conformanceTest("a second verification reuses the cached chain", async () => {
  const v = await vector("milan-v5-gcp-teekit");
  const cache = new ChainCache();
  await verifyVector(v, { cache });
  const before = cache.stats.hits;
  await verifyVector(v, { cache });
  assert.equal(cache.stats.hits, before + 1);
  // A cached chain still fails outside its validity window.
  await rejects(
    verifyVector(v, { cache, now: new Date("2040-01-01T00:00:00Z") }),
    VerificationError,
    /validity$/,
  );
});

conformanceTest(
  "a manifest entry without VMPL refuses a real VMPL-1 report (absent means 0, not any)",
  async () => {
    const v = await vector("milan-v3-vlek-aws"); // VMPL 1
    const files = await readVectorFiles(v);
    const entry = {
      Platform: "Metal-QEMU-SNP",
      ProductName: "Milan",
      TrustedMeasurement: encodeHex(files.report.subarray(0x90, 0xc0)),
      MinimumTCB: { BootloaderVersion: 0, TEEVersion: 0, SNPVersion: 0, MicrocodeVersion: 0 },
      GuestPolicy: { SMT: true },
    };
    const read = (value: unknown) => {
      const issues = new IssueList();
      const ref = readSnpReferenceValue(value, "ReferenceValues.snp[0]", issues);
      assert.deepEqual(issues.issues, []);
      return ref!;
    };
    await rejects(
      verifyVector(v, { referenceValues: [read(entry)] }),
      ValidationError,
      "report.vmpl",
    );
    await verifyVector(v, { referenceValues: [read({ ...entry, VMPL: 1 })] });
  },
);

conformanceTest(
  "revocation is required by default for a genuine AMD root, as for TDX; false opts out explicitly",
  async () => {
    const v = (await snpVectors()).find((x) => x.name === "milan-v2-virtee")!;
    const files = await readVectorFiles(v);
    const options = { now: new Date(v.suggested_fixed_now), reportData: undefined };
    const strict = new SnpEvidenceVerifier({
      referenceValues: defaultSnpReferenceValues(),
      certificates: await certificatesOf(v),
    });
    await assert.rejects(
      strict.verifyDetailed({ platform: "snp", report: files.report }, options),
      (e: unknown) => e instanceof UnavailableError && e.field === "crl",
    );
    const result = await verifyVector(v);
    assert.equal(result.revocationChecked, false);
  },
);
