import assert from "node:assert/strict";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { VerificationError } from "../../../util/errors/mod.ts";
import { parseSnpReport } from "../../../snp/abi/report.ts";
import { checkVekMatchesReport, readVekExtensions } from "../../../snp/verify/vek_extensions.ts";
import { parseCertificate } from "../../../x509/certificate.ts";
import { conformanceTest } from "../../conformance.ts";
import { readVectorFiles, snpVectors } from "../vectors.ts";

conformanceTest(
  "reads the AMD extensions of every real VCEK and VLEK as MANIFEST.json states",
  async () => {
    for (const v of await snpVectors()) {
      const files = await readVectorFiles(v);
      const ext = readVekExtensions(parseCertificate(files.vek, "vek"));
      const want = v.vek_cert.extensions;
      assert.equal(ext.kind, v.signing_key, v.name);
      assert.equal(ext.productName, want.productName, v.name);
      assert.equal(ext.product, v.product, v.name);
      assert.equal(ext.structVersion, want.structVersion, v.name);
      assert.equal(ext.tcb.bootloader, want.blSPL, v.name);
      assert.equal(ext.tcb.tee, want.teeSPL, v.name);
      assert.equal(ext.tcb.snp, want.snpSPL, v.name);
      assert.equal(ext.tcb.microcode, want.ucodeSPL, v.name);
      assert.equal(ext.tcb.fmc, want.fmcSPL, v.name);
      assert.equal(ext.hwId ? encodeHex(ext.hwId) : undefined, want.hwID, v.name);
      assert.equal(ext.cspId, want.cspID, v.name);
      checkVekMatchesReport(ext, parseSnpReport(files.report, { product: ext.product }));
    }
  },
);

conformanceTest(
  "rejects a VCEK whose product differs from the report's CPUID product",
  async () => {
    const vectors = await snpVectors();
    const genoa = vectors.find((v) => v.name === "genoa-v3-azure")!;
    const milan = vectors.find((v) => v.name === "milan-v5-gcp-teekit")!;
    const ext = readVekExtensions(parseCertificate((await readVectorFiles(milan)).vek, "vek"));
    const report = parseSnpReport((await readVectorFiles(genoa)).report);
    assert.throws(
      () => checkVekMatchesReport(ext, report),
      (e: unknown) => e instanceof VerificationError && e.field === "vek.productName",
    );
  },
);
