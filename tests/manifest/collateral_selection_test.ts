import "reflect-metadata";
import assert from "node:assert/strict";
import { ValidationError, VerificationError } from "../../util/errors/mod.ts";
import { meshReportData } from "../../protocol/report_data.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import type { SnpCollateralSource } from "../../snp/kds/source.ts";
import { parseCertificate } from "../../x509/certificate.ts";
import { deployment, MEASUREMENT } from "../coordinator/fixture.ts";

const untouchable: SnpCollateralSource = {
  vcek: () => Promise.reject(new Error("KDS must not be asked for simulated evidence")),
  certChain: () => Promise.reject(new Error("KDS must not be asked for simulated evidence")),
  crl: () => Promise.reject(new Error("KDS must not be asked for simulated evidence")),
};

Deno.test("verifies simulated evidence against the manifest's root without asking AMD KDS", async () => {
  const d = await deployment();
  const manifest = parseManifest(d.manifest());
  const verifiers = new ManifestVerifiers({ snpCollateral: untouchable });
  const reportData = await meshReportData({
    channelBinding: new Uint8Array(32),
    leafSpki: new Uint8Array([1]),
  });
  const r = await d.authority.createReport({
    reportData,
    hostData: d.pods.db.digest,
    measurement: await MEASUREMENT,
  });
  const { claims } = await verifiers.verify(
    manifest,
    { platform: "snp", report: r.report, aux: r.aux },
    {
      reportData,
      now: new Date(),
    },
  );
  assert.deepEqual(claims.hostData, d.pods.db.digest);
  await assert.rejects(
    verifiers.verify(manifest, { platform: "snp", report: r.report, aux: r.aux }, {
      reportData: new Uint8Array(64),
      now: new Date(),
    }),
    ValidationError,
  );
  const flipped = r.report.slice();
  flipped[0x2a0]! ^= 1; // inside the signature
  await assert.rejects(
    verifiers.verify(manifest, { platform: "snp", report: flipped, aux: r.aux }, {
      reportData,
      now: new Date(),
    }),
    VerificationError,
  );
});

Deno.test("refuses evidence of a platform the manifest has no reference values for", async () => {
  const d = await deployment();
  const manifest = parseManifest(d.manifest());
  await assert.rejects(
    new ManifestVerifiers().verify(manifest, { platform: "tdx", report: new Uint8Array(10) }, {
      reportData: new Uint8Array(64),
      now: new Date(),
    }),
    (e: unknown) => e instanceof ValidationError && e.field === "ReferenceValues.tdx",
  );
});

Deno.test("simulated evidence without certificates uses the stand-in KDS with only the manifest's roots", async () => {
  const d = await deployment();
  const manifest = parseManifest(d.manifest());
  const reportData = new Uint8Array(64);
  const r = await d.authority.createReport({
    reportData,
    hostData: d.pods.db.digest,
    measurement: await MEASUREMENT,
  });
  const evidence = { platform: "snp" as const, report: r.report };
  await assert.rejects(
    new ManifestVerifiers({ snpCollateral: untouchable }).verify(manifest, evidence, {
      reportData,
      now: new Date(),
    }),
    /no AMD KDS access configured/,
  );
  const asked: (readonly string[])[] = [];
  const standIn: SnpCollateralSource = {
    vcek: () => Promise.resolve(parseCertificate(r.vcek, "vcek")),
    certChain: () =>
      Promise.resolve({
        intermediate: parseCertificate(d.authority.askDer, "ask"),
        ark: parseCertificate(d.authority.arkDer, "ark"),
      }),
    crl: () => Promise.resolve(undefined),
  };
  const verifiers = new ManifestVerifiers({
    snpCollateral: untouchable,
    simulatedSnpCollateral: (roots) => {
      asked.push(roots);
      return standIn;
    },
  });
  const { claims } = await verifiers.verify(manifest, evidence, { reportData, now: new Date() });
  assert.deepEqual(claims.hostData, d.pods.db.digest);
  assert.deepEqual(asked, [[d.authority.rootFingerprint]]);
});
