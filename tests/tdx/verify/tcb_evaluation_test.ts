import "reflect-metadata";
import { strict as assert } from "node:assert";
import { X509Certificate } from "@peculiar/x509";
import { decodePem } from "../../../util/bytes/mod.ts";
import { VerificationError } from "../../../util/errors/mod.ts";
import { parseTdxQuote } from "../../../tdx/quote/parse_quote.ts";
import { parseSgxExtensions, SGX_EXTENSION_OID } from "../../../tdx/pck/sgx_extensions.ts";
import { parseTdxTcbInfoResponse, type TdxTcbInfo } from "../../../tdx/collateral/tcb_info.ts";
import { parseQeIdentityResponse } from "../../../tdx/collateral/qe_identity.ts";
import { convergeStatus, evaluateTdxTcb } from "../../../tdx/verify/tcb_evaluation.ts";
import { conformanceTest, readConformance, readConformanceManifest } from "../../conformance.ts";

async function inputs(dir: string) {
  const quote = parseTdxQuote(await readConformance(`${dir}/quote.bin`));
  const pem = new TextDecoder().decode(quote.signatureData.qeCertification.certification.data);
  const leaf = new X509Certificate(decodePem(pem, "CERTIFICATE")[0]!.der.slice());
  const pck = parseSgxExtensions(new Uint8Array(leaf.getExtension(SGX_EXTENSION_OID)!.value));
  const tcbInfo = parseTdxTcbInfoResponse(await readConformance(`${dir}/tcb_info.json`)).tcbInfo;
  const qeIdentity =
    parseQeIdentityResponse(await readConformance(`${dir}/qe_identity.json`)).qeIdentity;
  return {
    tcbInfo,
    qeIdentity,
    pck,
    body: quote.body,
    qeReport: quote.signatureData.qeCertification.qeReport,
  };
}

conformanceTest(
  "TCB evaluation of every vector with collateral gives MANIFEST's status",
  async () => {
    const manifest = await readConformanceManifest();
    let checked = 0;
    // deno-lint-ignore no-explicit-any
    for (const v of manifest.tdx as any[]) {
      const t = v.tcb_evaluation;
      if (!t) continue;
      const ev = evaluateTdxTcb(await inputs(v.dir));
      assert.equal(ev.status, t.status, v.name);
      assert.equal(ev.qe.status, t.qe.status, v.name);
      assert.equal(ev.qe.level?.isvSvn, t.qe.level, v.name);
      assert.equal(ev.sgxLevel?.tcbDate ?? null, t.sgx_level?.tcbDate ?? null, v.name);
      assert.equal(ev.sgxLevel?.tcbStatus ?? null, t.sgx_level?.status ?? null, v.name);
      assert.equal(ev.tdxLevel?.tcbDate ?? null, t.tdx_level?.tcbDate ?? null, v.name);
      assert.equal(ev.moduleIdentity?.id, t.module_identity?.id, v.name);
      assert.equal(ev.moduleLevel?.isvSvn, t.module_level?.isvsvn, v.name);
      assert.deepEqual(ev.advisoryIds, t.advisoryIDs_union_tdxlevel_module ?? [], v.name);
      checked++;
    }
    assert.equal(checked, 4);
  },
);

function withLevels(info: TdxTcbInfo, f: (i: TdxTcbInfo) => Partial<TdxTcbInfo>): TdxTcbInfo {
  return { ...info, ...f(info) };
}

conformanceTest("a TEE_TCB_SVN below every TDX level is TcbNotSupported", async () => {
  const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
  const tee = i.body.teeTcbSvn.slice();
  tee[2] = 0; // below the levels' TDX component 3 (microcode)
  const ev = evaluateTdxTcb({ ...i, body: { ...i.body, teeTcbSvn: tee } });
  assert.equal(ev.status, "TcbNotSupported");
  assert.match(ev.reason!, /TDX components/);
});

conformanceTest(
  "an SGX-only match falls to the lower level and carries its advisories",
  async () => {
    const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
    const pck = { ...i.pck, pceSvn: 5 };
    const ev = evaluateTdxTcb({ ...i, pck });
    assert.equal(ev.status, "OutOfDate");
    assert.ok(ev.advisoryIds.includes("INTEL-SA-00837"));
  },
);

/** A TDX module case: TEE_TCB_SVN byte `index` set to `value` on an up-to-date platform. */
interface ModuleSvnCase {
  readonly name: string;
  readonly index: number;
  readonly value: number;
  readonly status: string;
  /** What the reason must mention, when the status comes with one. */
  readonly reason?: RegExp;
}

const moduleSvnCases: readonly ModuleSvnCase[] = [
  {
    name: "a module ISV SVN below every module level is TcbNotSupported",
    index: 0,
    value: 1,
    status: "TcbNotSupported",
    reason: /TDX_01/,
  },
  {
    name: "an out-of-date TDX module makes an up-to-date platform OutOfDate",
    index: 0,
    value: 2, // TDX_01 level isvsvn 2 is OutOfDate
    status: "OutOfDate",
  },
  {
    name: "an unknown TDX module major version is TcbNotSupported",
    index: 1,
    value: 7,
    status: "TcbNotSupported",
    reason: /TDX_07/,
  },
];

for (const c of moduleSvnCases) {
  conformanceTest(c.name, async () => {
    const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
    const tee = i.body.teeTcbSvn.slice();
    tee[c.index] = c.value;
    const ev = evaluateTdxTcb({ ...i, body: { ...i.body, teeTcbSvn: tee } });
    assert.equal(ev.status, c.status);
    if (c.reason) assert.match(ev.reason!, c.reason);
  });
}

conformanceTest("a QE ISV SVN below every QE level converges to Revoked", async () => {
  const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
  const ev = evaluateTdxTcb({ ...i, qeReport: { ...i.qeReport, isvSvn: 1 } });
  assert.equal(ev.qe.status, "Revoked");
  assert.equal(ev.status, "Revoked");
});

conformanceTest("rejects a QE whose MRSIGNER differs from the QE identity", async () => {
  const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
  const mrSigner = i.qeReport.mrSigner.slice();
  mrSigner[0]! ^= 1;
  assert.throws(
    () => evaluateTdxTcb({ ...i, qeReport: { ...i.qeReport, mrSigner } }),
    (e: unknown) => e instanceof VerificationError && /mrSigner/.test(e.field),
  );
});

conformanceTest("rejects a QE with another ISV PROD ID", async () => {
  const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
  assert.throws(
    () => evaluateTdxTcb({ ...i, qeReport: { ...i.qeReport, isvProdId: 1 } }),
    (e: unknown) => e instanceof VerificationError && /isvProdId/.test(e.field),
  );
});

conformanceTest("rejects QE attributes that differ under the mask", async () => {
  const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
  const attributes = i.qeReport.attributes.slice();
  attributes[0]! ^= 0x02; // DEBUG bit of the enclave
  assert.throws(
    () => evaluateTdxTcb({ ...i, qeReport: { ...i.qeReport, attributes } }),
    (e: unknown) => e instanceof VerificationError && /attributes/.test(e.field),
  );
});

conformanceTest("rejects a TDX module signer other than the identity's", async () => {
  const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
  const mrSignerSeam = new Uint8Array(48).fill(1);
  assert.throws(
    () => evaluateTdxTcb({ ...i, body: { ...i.body, mrSignerSeam } }),
    (e: unknown) => e instanceof VerificationError && /mrSignerSeam/.test(e.field),
  );
});

conformanceTest("levels are taken in collateral order, first match wins", async () => {
  const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
  const reversed = withLevels(i.tcbInfo, (t) => ({ tcbLevels: [...t.tcbLevels].reverse() }));
  assert.equal(evaluateTdxTcb({ ...i, tcbInfo: reversed }).status, "OutOfDate");
});

Deno.test("status convergence follows QVL", () => {
  assert.equal(convergeStatus("UpToDate", "OutOfDate"), "OutOfDate");
  assert.equal(convergeStatus("SWHardeningNeeded", "OutOfDate"), "OutOfDate");
  assert.equal(convergeStatus("ConfigurationNeeded", "OutOfDate"), "OutOfDateConfigurationNeeded");
  assert.equal(convergeStatus("UpToDate", "Revoked"), "Revoked");
  assert.equal(convergeStatus("ConfigurationNeeded", "UpToDate"), "ConfigurationNeeded");
  assert.equal(convergeStatus("OutOfDate", "UpToDate"), "OutOfDate");
});

conformanceTest(
  "a TDX module major version > 0 without module identities in the TCB info is TcbNotSupported",
  async () => {
    // QVL: no TDX_<major> identity is a TDX module mismatch. The TDX components skip TEE_TCB_SVN
    // bytes 0-1 for such a module, so without its identity the module's ISV SVN (here 0, below
    // every level) would go unchecked.
    const i = await inputs("tdx/v4-phala-b0c06f-uptodate");
    const tee = i.body.teeTcbSvn.slice();
    assert.ok(tee[1]! > 0);
    tee[0] = 0;
    const ev = evaluateTdxTcb({
      ...i,
      tcbInfo: { ...i.tcbInfo, tdxModuleIdentities: [] },
      body: { ...i.body, teeTcbSvn: tee },
    });
    assert.equal(ev.status, "TcbNotSupported");
    assert.match(ev.reason!, /TDX_01/);
  },
);
