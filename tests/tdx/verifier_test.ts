import { strict as assert } from "node:assert";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { UnavailableError, ValidationError, VerificationError } from "../../util/errors/mod.ts";
import { IssueList } from "../../util/json/mod.ts";
import { ChainCache } from "../../x509/chain_cache.ts";
import { readTdxReferenceValue, type TdxReferenceValue } from "../../tdx/reference_values.ts";
import { TdxEvidenceVerifier } from "../../tdx/verifier.ts";
import { resolveMrSeam } from "../../tdx/published_modules.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../tdx/verify/intel_root.ts";
import { parseTdxQuote } from "../../tdx/quote/parse_quote.ts";
import {
  StaticTdxCollateral,
  type TdxCollateral,
  type TdxCollateralRequest,
  type TdxCollateralSource,
} from "../../tdx/verify/collateral_bundle.ts";
import { readTdxCollateralDir } from "../../tdx/pcs/collateral_dir.ts";
import { conformanceFile, conformanceTest, readConformance } from "../conformance.ts";

const DIR = "tdx/v4-phala-b0c06f-uptodate";
const NOW = new Date("2025-06-19T11:32:27Z");
const REPORT_DATA = decodeHex(
  "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20",
);

function ref(extra: Record<string, unknown> = {}): TdxReferenceValue {
  const issues = new IssueList();
  const r = readTdxReferenceValue(
    {
      Platform: "Metal-QEMU-TDX",
      MrTd:
        "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
      MrSeam:
        "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1",
      Rtmrs: [
        "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0",
        "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378",
        "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132",
        "00".repeat(48),
      ],
      Xfam: "e702060000000000",
      TdAttributes: "0000001000000000",
      MinTCBEvaluationDataNumber: 17,
      ...extra,
    },
    "ReferenceValues.tdx[0]",
    issues,
  );
  issues.throwIfAny();
  return r!;
}

async function verifier(refs: TdxReferenceValue[]) {
  const collateral = await readTdxCollateralDir(conformanceFile(DIR).pathname);
  return new TdxEvidenceVerifier({
    referenceValues: refs,
    collateral: new StaticTdxCollateral(collateral),
    chainCache: new ChainCache(),
  });
}

async function evidence() {
  return { platform: "tdx" as const, report: await readConformance(`${DIR}/quote.bin`) };
}

conformanceTest("a real quote matching its reference value yields its claims", async () => {
  const v = await verifier([ref()]);
  const claims = await v.verify(await evidence(), { reportData: REPORT_DATA, now: NOW });
  assert.equal(claims.platform, "tdx");
  assert.equal(claims.referenceValueIndex, 0);
  assert.equal(claims.hostData.length, 48);
  assert.equal(encodeHex(claims.measurement), encodeHex(ref().MrTd!));
  assert.equal(claims.details.tcbStatus, "UpToDate");
  assert.equal(claims.details.advisoryIds, "");
  assert.equal(claims.details.fmspc, "b0c06f000000");
});

conformanceTest("the second reference value matches when the first does not", async () => {
  const v = await verifier([ref({ MrTd: "00".repeat(48) }), ref()]);
  const claims = await v.verify(await evidence(), { reportData: REPORT_DATA, now: NOW });
  assert.equal(claims.referenceValueIndex, 1);
});

async function rejectsWith(refs: TdxReferenceValue[], field: RegExp, reportData = REPORT_DATA) {
  const v = await verifier(refs);
  await assert.rejects(v.verify(await evidence(), { reportData, now: NOW }), (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected ValidationError, got ${e}`);
    assert.match(e.field, field);
    assert.ok(e.expected !== undefined && e.actual !== undefined);
    return true;
  });
}

conformanceTest("rejects another MRTD, reporting expected and actual", async () => {
  await rejectsWith([ref({ MrTd: "00".repeat(48) })], /MrTd/);
});

conformanceTest("rejects another RTMR2", async () => {
  const r = ref();
  const rtmrs = [...r.Rtmrs!] as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  rtmrs[2] = new Uint8Array(48);
  await rejectsWith([{ ...r, Rtmrs: rtmrs }], /Rtmrs\[2\]/);
});

conformanceTest("rejects another MRSEAM", async () => {
  await rejectsWith([ref({ MrSeam: "11".repeat(48) })], /MrSeam/);
});

conformanceTest("rejects another XFAM", async () => {
  await rejectsWith([ref({ Xfam: "e718060000000000" })], /Xfam/);
});

conformanceTest("rejects other TD attributes", async () => {
  await rejectsWith([ref({ TdAttributes: "0000000000000000" })], /TdAttributes/);
});

conformanceTest("rejects report data other than expected", async () => {
  await rejectsWith([ref()], /reportData/, new Uint8Array(64));
});

conformanceTest("rejects a TCB status the reference value does not allow", async () => {
  await rejectsWith([ref({ AllowedTcbStatuses: ["OutOfDate"] })], /AllowedTcbStatuses/);
});

conformanceTest(
  "a published module (1.5.06, this host's) names the MRSEAM; the TCB gating still applies",
  async () => {
    const published = { MrSeam: resolveMrSeam("1.5.06", "--mrseam") };
    const v = await verifier([ref(published)]);
    const claims = await v.verify(await evidence(), { reportData: REPORT_DATA, now: NOW });
    assert.equal(claims.details.tcbStatus, "UpToDate");
    await rejectsWith(
      [ref({ ...published, AllowedTcbStatuses: ["OutOfDate"] })],
      /AllowedTcbStatuses/,
    );
    await rejectsWith(
      [ref({ ...published, MinTCBEvaluationDataNumber: 18 })],
      /MinTCBEvaluationDataNumber/,
    );
    await rejectsWith([ref({ MrSeam: resolveMrSeam("1.5.08", "--mrseam") })], /MrSeam/);
  },
);

conformanceTest("rejects collateral older than MinTCBEvaluationDataNumber", async () => {
  await rejectsWith([ref({ MinTCBEvaluationDataNumber: 18 })], /MinTCBEvaluationDataNumber/);
});

conformanceTest("a simulated reference value never trusts the Intel root by accident", async () => {
  const v = await verifier([
    ref({ Platform: "Simulated-TDX", SimulatedRootSHA256: "ab".repeat(32) }),
  ]);
  await assert.rejects(
    v.verify(await evidence(), { reportData: REPORT_DATA, now: NOW }),
    VerificationError,
  );
});

conformanceTest(
  "a Simulated-TDX value naming Intel's real root (not from a parsed manifest) verifies no real quote",
  async () => {
    // readTdxReferenceValue refuses it; a value built in code must not get past the verifier
    // either: with Intel's root it would accept this real quote with no RTMRs or MRSEAM.
    const simulated: TdxReferenceValue = {
      ...ref(),
      Platform: "Simulated-TDX",
      Rtmrs: undefined,
      MrSeam: undefined,
      SimulatedRootSHA256: INTEL_SGX_ROOT_CA_SHA256,
    };
    const v = await verifier([simulated]);
    await assert.rejects(
      v.verify(await evidence(), { reportData: REPORT_DATA, now: NOW }),
      (e: unknown) =>
        e instanceof VerificationError &&
        e.field === "ReferenceValues.tdx[0].SimulatedRootSHA256" &&
        /Intel SGX Root CA, a real vendor root/.test(e.message),
    );
  },
);

conformanceTest("rejects SNP evidence handed to the TDX verifier", async () => {
  const v = await verifier([ref()]);
  await assert.rejects(
    v.verify({ platform: "snp", report: new Uint8Array(1184) }, {
      reportData: REPORT_DATA,
      now: NOW,
    }),
    VerificationError,
  );
});

conformanceTest(
  "the verifier refuses a vector without PCK CRL unless told to skip that check",
  async () => {
    const dir = "tdx/v4-trustee-00a06d-outofdate";
    const collateral = new StaticTdxCollateral(
      await readTdxCollateralDir(conformanceFile(dir).pathname),
    );
    const report = await readConformance(`${dir}/quote.bin`);
    const body = parseTdxQuote(report).body;
    const issues = new IssueList();
    const r = readTdxReferenceValue(
      {
        Platform: "Metal-QEMU-TDX",
        MrTd: encodeHex(body.mrTd),
        Rtmrs: body.rtmrs.map(encodeHex),
        AllowedTcbStatuses: ["OutOfDate"],
      },
      "ReferenceValues.tdx[0]",
      issues,
    );
    const now = new Date("2025-10-28T07:45:09Z");
    const options = { reportData: body.reportData, now };
    const strict = new TdxEvidenceVerifier({ referenceValues: [r!], collateral });
    await assert.rejects(
      strict.verify({ platform: "tdx", report }, options),
      (e: unknown) => e instanceof UnavailableError && e.field === "collateral.pckCrl",
    );
    const lenient = new TdxEvidenceVerifier({
      referenceValues: [r!],
      collateral,
      requirePckCrl: false,
    });
    const claims = await lenient.verify({ platform: "tdx", report }, options);
    assert.equal(claims.details.tcbStatus, "OutOfDate");
    assert.equal(claims.details.pckRevocationChecked, "false");
  },
);

/** A collateral source that counts the requests made of it (each would go to Intel PCS). */
class CountingCollateral implements TdxCollateralSource {
  readonly requests: TdxCollateralRequest[] = [];
  constructor(readonly inner: TdxCollateralSource) {}
  collateralFor(request: TdxCollateralRequest): Promise<TdxCollateral> {
    this.requests.push(request);
    return this.inner.collateralFor(request);
  }
}

async function countingVerifier(refs: TdxReferenceValue[]) {
  const source = new CountingCollateral(
    new StaticTdxCollateral(await readTdxCollateralDir(conformanceFile(DIR).pathname)),
  );
  const v = new TdxEvidenceVerifier({ referenceValues: refs, collateral: source });
  return { v, source };
}

conformanceTest(
  "a real quote's PCK chain is verified first, then its FMSPC's collateral requested once per verification",
  async () => {
    const { v, source } = await countingVerifier([ref()]);
    for (let i = 0; i < 2; i++) {
      const claims = await v.verify(await evidence(), { reportData: REPORT_DATA, now: NOW });
      assert.equal(claims.details.pckRevocationChecked, "true");
    }
    assert.equal(source.requests.length, 2);
    assert.equal(encodeHex(source.requests[0]!.fmspc), "b0c06f000000");
    assert.equal(source.requests[0]!.pckCa, "platform");
  },
);

conformanceTest(
  "a PCK chain that does not end in a reference value's root requests no collateral",
  async () => {
    const { v, source } = await countingVerifier([
      ref({ Platform: "Simulated-TDX", SimulatedRootSHA256: "ab".repeat(32) }),
    ]);
    await assert.rejects(
      v.verify(await evidence(), { reportData: REPORT_DATA, now: NOW }),
      (e: unknown) =>
        e instanceof VerificationError && e.field.startsWith("quote.pckChain") &&
        /not a pinned trust anchor/.test(e.message),
    );
    assert.equal(source.requests.length, 0);
  },
);

conformanceTest("a PCK chain outside its validity at `now` requests no collateral", async () => {
  const { v, source } = await countingVerifier([ref()]);
  await assert.rejects(
    v.verify(await evidence(), { reportData: REPORT_DATA, now: new Date("2045-01-01T00:00:00Z") }),
    (e: unknown) =>
      e instanceof VerificationError && /^quote\.pckChain\..*\.validity$/.test(e.field),
  );
  assert.equal(source.requests.length, 0);
});

conformanceTest(
  "no reference value naming a root: refused without a collateral request",
  async () => {
    const simulated: TdxReferenceValue = {
      ...ref(),
      Platform: "Simulated-TDX",
      SimulatedRootSHA256: undefined,
    };
    const { v, source } = await countingVerifier([simulated]);
    await assert.rejects(
      v.verify(await evidence(), { reportData: REPORT_DATA, now: NOW }),
      (e: unknown) =>
        e instanceof VerificationError && e.field === "ReferenceValues.tdx[0].SimulatedRootSHA256",
    );
    assert.equal(source.requests.length, 0);
  },
);
