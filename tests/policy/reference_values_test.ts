import assert from "node:assert/strict";
import { encodeHex, encodePem } from "../../util/bytes/mod.ts";
import { InvalidDocumentError, ParseError } from "../../util/errors/mod.ts";
import {
  checkReferenceValues,
  PLATFORMS,
  readPlatformTemplate,
  referenceValuesFor,
  simulatedRootFingerprint,
  withFlagHints,
} from "../../policy/reference_values.ts";
import { PUBLISHED_TDX_MODULES, resolveMrSeam } from "../../tdx/published_modules.ts";
import { parseTdxQuote } from "../../tdx/quote/parse_quote.ts";
import { conformanceFile, conformanceTest, readConformance } from "../conformance.ts";
import { AMD_ARK_SHA256, INTEL_SGX_ROOT_CA_SHA256 } from "../../evidence/vendor_roots.ts";

const M = "ab".repeat(48);
const ROOT = "cd".repeat(32);

Deno.test("every platform yields reference values the manifest readers accept once the user supplies the measurements", async () => {
  for (const platform of PLATFORMS) {
    const rv = await referenceValuesFor(platform, {
      trustedMeasurement: M,
      mrTd: M,
      rtmrs: [M, M, M, M],
      mrSeams: [M],
      simulatedRootSha256: ROOT,
    });
    assert.ok(rv.snp.length + rv.tdx.length > 0, platform);
    for (const e of [...rv.snp, ...rv.tdx]) assert.equal(e.Platform, platform);
  }
});

Deno.test("real platforms require the measurement contrast cannot know, naming the path and the flag", async () => {
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-SNP", {}),
    (e: InvalidDocumentError) =>
      e.issues[0]!.path === "ReferenceValues.snp[0].TrustedMeasurement" &&
      /--trusted-measurement/.test(e.issues[0]!.reason),
  );
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-TDX", {}),
    (e: InvalidDocumentError) =>
      // Reported once, not once per published TDX module; the module itself has a default.
      e.issues.length === 2 &&
      e.issues.some((i) => i.path === "ReferenceValues.tdx[0].MrTd" && /--mrtd/.test(i.reason)) &&
      e.issues.some((i) => i.path === "ReferenceValues.tdx[0].Rtmrs"),
  );
});

Deno.test("a real TDX platform requires all four RTMRs, naming the path and the --rtmr flag", async () => {
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-TDX", { mrTd: M, mrSeams: [M] }),
    (e: InvalidDocumentError) =>
      e.issues.length === 1 && e.issues[0]!.path === "ReferenceValues.tdx[0].Rtmrs" &&
      /--rtmr/.test(e.issues[0]!.reason),
  );
  const rv = await referenceValuesFor("Metal-QEMU-TDX", {
    mrTd: M,
    rtmrs: [M, M, M, M],
    mrSeams: [M],
  });
  assert.deepEqual(rv.tdx[0]!.Rtmrs, [M, M, M, M]);
  assert.equal(rv.tdx[0]!.MrTd, M);
});

Deno.test("a real TDX platform names its TDX modules: Intel's published MRSEAMs by default, --mrseam hex or version instead; writes Xfam", async () => {
  // Without --mrseam: one entry per module whose MRSEAM Intel publishes, each otherwise the same.
  const published = await referenceValuesFor("Metal-QEMU-TDX", { mrTd: M, rtmrs: [M, M, M, M] });
  assert.deepEqual(published.tdx.map((e) => e.MrSeam), PUBLISHED_TDX_MODULES.map((m) => m.mrSeam));
  assert.deepEqual(PUBLISHED_TDX_MODULES.map((m) => m.version), [
    ...["1.5.01", "1.5.05", "1.5.06", "1.5.08", "1.5.09", "1.5.13", "1.5.16", "1.5.20"],
    ...["1.5.24", "1.5.25", "1.5.28", "1.5.34"],
    ...["2.0.02", "2.0.04", "2.0.08", "2.0.12", "2.0.14", "2.0.16", "2.0.18"],
  ]);
  assert.ok(published.tdx.every((e) => e.MrTd === M && e.Xfam === "e702060000000000"));
  // One entry per TDX module version given; a published version names its MRSEAM.
  const seams = ["a1".repeat(48), "b2".repeat(48)];
  const rv = await referenceValuesFor("Metal-QEMU-TDX", {
    mrTd: M,
    rtmrs: [M, M, M, M],
    mrSeams: [...seams, "2.0.08", "tdx-module-1.5.34"],
  });
  assert.deepEqual(rv.tdx.map((e) => e.MrSeam), [
    ...seams,
    PUBLISHED_TDX_MODULES.find((m) => m.version === "2.0.08")!.mrSeam,
    PUBLISHED_TDX_MODULES.find((m) => m.version === "1.5.34")!.mrSeam,
  ]);
  assert.ok(rv.tdx.every((e) => e.Xfam === "e702060000000000" && e.MrTd === M));
  const own = await referenceValuesFor("Metal-QEMU-TDX", {
    mrTd: M,
    rtmrs: [M, M, M, M],
    mrSeams: [seams[0]!],
    xfam: "E71A060000000000",
  });
  assert.equal(own.tdx[0]!.Xfam, "e71a060000000000");
  for (const bad of ["ab", "1.5.07", "latest"]) {
    await assert.rejects(
      referenceValuesFor("Metal-QEMU-TDX", { mrTd: M, rtmrs: [M, M, M, M], mrSeams: [bad] }),
      (e: ParseError) =>
        e.field === "--mrseam[0]" &&
        /published TDX module version \(1\.5\.01, 1\.5\.05, .*, 2\.0\.16, 2\.0\.18\)/
          .test(e.reason),
      bad,
    );
  }
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-TDX", {
      mrTd: M,
      rtmrs: [M, M, M, M],
      mrSeams: [M],
      xfam: "zz",
    }),
    (e: ParseError) => e.field === "--xfam",
  );
  // A hand-written real TDX entry without MrSeam is still refused (as Contrast refuses it).
  assert.throws(
    () => checkReferenceValues({ snp: [], tdx: [{ ...published.tdx[0]!, MrSeam: undefined }] }),
    (e: InvalidDocumentError) =>
      e.issues.some((i) => i.path === "ReferenceValues.tdx[0].MrSeam" && /--mrseam/.test(i.reason)),
  );
});

conformanceTest(
  "a real quote's MRSEAM is the published value of its module version where Intel publishes one",
  async () => {
    // The module each real host runs, read from the published table (undefined: not in it).
    const expected: Record<string, string | undefined> = {
      "tdx/v4-phala-b0c06f-uptodate": "1.5.06",
      "tdx/v5-phala-90c06f-tcb-not-supported": "1.5.08",
      "tdx/v4-trustee-00a06d-outofdate": "2.0.08",
      "tdx/v4-gcp-cos113-padded": undefined,
      "tdx/v4-gotdx-spr-50806f": undefined,
    };
    for (const [dir, version] of Object.entries(expected)) {
      const quote = parseTdxQuote(await readConformance(`${dir}/quote.bin`));
      const mrSeam = encodeHex(quote.body.mrSeam);
      assert.equal(PUBLISHED_TDX_MODULES.find((m) => m.mrSeam === mrSeam)?.version, version, dir);
      if (version) assert.equal(resolveMrSeam(version, "--mrseam"), mrSeam, dir);
    }
  },
);

Deno.test("the published table: one entry per version, 96 lower-case hex digits each, with its source", () => {
  const versions = PUBLISHED_TDX_MODULES.map((m) => m.version);
  assert.equal(new Set(versions).size, versions.length);
  assert.equal(new Set(PUBLISHED_TDX_MODULES.map((m) => m.mrSeam)).size, versions.length);
  for (const m of PUBLISHED_TDX_MODULES) {
    assert.match(m.version, /^\d\.\d\.\d\d$/);
    assert.match(m.mrSeam, /^[0-9a-f]{96}$/, m.version);
    assert.match(m.source, /github\.com\/intel\/tdx-module/, m.version);
  }
});

Deno.test("simulated platforms are never trusted without a named root", async () => {
  await assert.rejects(
    referenceValuesFor("Simulated-SNP", { trustedMeasurement: M }),
    (e: InvalidDocumentError) =>
      e.issues.some((i) => i.path === "ReferenceValues.snp[0].SimulatedRootSHA256"),
  );
  await assert.rejects(
    referenceValuesFor("Simulated-TDX", { mrTd: M }),
    (e: InvalidDocumentError) =>
      e.issues.some((i) => i.path === "ReferenceValues.tdx[0].SimulatedRootSHA256"),
  );
  const rv = await referenceValuesFor("Simulated-TDX", {
    mrTd: M,
    simulatedRootSha256: ROOT,
    rtmrs: [M, M, M, M],
  });
  assert.equal(rv.tdx[0]!.SimulatedRootSHA256, ROOT);
  assert.equal((rv.tdx[0]!.Rtmrs as string[]).length, 4);
});

Deno.test("rejects malformed measurement flags and a partial RTMR list", async () => {
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-SNP", { trustedMeasurement: "abc" }),
    (e: ParseError) => e.field === "--trusted-measurement",
  );
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-TDX", { mrTd: M, rtmrs: [M] }),
    (e: ParseError) => e.field === "--rtmr",
  );
});

Deno.test("--simulated-root accepts a fingerprint, a PEM file or an authority directory", async () => {
  assert.equal(await simulatedRootFingerprint(ROOT.toUpperCase()), ROOT);
  const dir = await Deno.makeTempDir();
  try {
    const der = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]);
    const expected = encodeHex(new Uint8Array(await crypto.subtle.digest("SHA-256", der)));
    await Deno.writeTextFile(`${dir}/ark.pem`, encodePem("CERTIFICATE", der));
    assert.equal(await simulatedRootFingerprint(`${dir}/ark.pem`), expected);
    assert.equal(await simulatedRootFingerprint(dir), expected);
    await Deno.writeTextFile(
      `${dir}/tdx.json`,
      JSON.stringify({ root: { cert: encodePem("CERTIFICATE", der) } }),
    );
    assert.equal(await simulatedRootFingerprint(`${dir}/tdx.json`), expected);
    // The simulated TDX authority file stores the root certificate as base64 DER.
    await Deno.writeTextFile(
      `${dir}/tdx-der.json`,
      JSON.stringify({ kind: "x", root: { key: "k", cert: btoa(String.fromCharCode(...der)) } }),
    );
    assert.equal(await simulatedRootFingerprint(`${dir}/tdx-der.json`), expected);
    await Deno.writeTextFile(`${dir}/none.json`, JSON.stringify({ kind: "x" }));
    await assert.rejects(simulatedRootFingerprint(`${dir}/none.json`), /no root\.cert/);
    await assert.rejects(simulatedRootFingerprint(`${dir}/missing`), ParseError);
    await Deno.writeTextFile(`${dir}/empty.pem`, "nothing");
    await assert.rejects(simulatedRootFingerprint(`${dir}/empty.pem`), /CERTIFICATE/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--simulated-root reads a saved simulated TDX authority and names its real root", async () => {
  const { SimulatedTdxAuthority } = await import("../../testing/tdx/authority.ts");
  const authority = await SimulatedTdxAuthority.generate();
  const dir = await Deno.makeTempDir();
  try {
    await authority.save(`${dir}/authority.json`);
    assert.equal(
      await simulatedRootFingerprint(`${dir}/authority.json`),
      await authority.rootFingerprint(),
    );
    const rv = await referenceValuesFor("Simulated-TDX", {
      mrTd: M,
      simulatedRootSha256: await simulatedRootFingerprint(`${dir}/authority.json`),
    });
    assert.equal(rv.tdx[0]!.SimulatedRootSHA256, await authority.rootFingerprint());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every SNP platform template names VMPL 0 explicitly (contrast's guests run at VMPL 0)", async () => {
  for (const platform of PLATFORMS) {
    const template = await readPlatformTemplate(platform);
    for (const [i, e] of template.snp.entries()) assert.equal(e.VMPL, 0, `${platform} snp[${i}]`);
  }
});

Deno.test("withFlagHints names the flag for each user-supplied field and leaves others alone", () => {
  const hinted = withFlagHints(
    new InvalidDocumentError([
      { path: "ReferenceValues.tdx[0].Rtmrs", reason: "required" },
      { path: "ReferenceValues.tdx[1].MrTd", reason: "required" },
      { path: "ReferenceValues.snp[0].TrustedMeasurement", reason: "required" },
      { path: "ReferenceValues.tdx[0].Xfam", reason: "expected hex" },
    ]),
  );
  assert.match(hinted.issues[0]!.reason, /^required; .*--rtmr/);
  assert.match(hinted.issues[1]!.reason, /--mrtd/);
  assert.match(hinted.issues[2]!.reason, /--trusted-measurement/);
  assert.equal(hinted.issues[3]!.reason, "expected hex");
});

Deno.test("--ap-eip writes Contrast's APEIP into every SNP entry; refused on TDX or when malformed", async () => {
  const rv = await referenceValuesFor("Metal-QEMU-SNP", {
    trustedMeasurement: M,
    apEip: "0080B004",
  });
  assert.ok(
    rv.snp.length > 0 && rv.snp.every((e) => e.APEIP === "0080b004" && e.TrustedMeasurement === M),
  );
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-SNP", { trustedMeasurement: M, apEip: "80b004" }),
    (e: ParseError) => e.field === "--ap-eip",
  );
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-TDX", { mrTd: M, rtmrs: [M, M, M, M], apEip: "0080b004" }),
    (e: ParseError) => e.field === "--ap-eip" && /only for SNP platforms/.test(e.reason),
  );
});

Deno.test("--simulated-root refuses a vendor's real root: by fingerprint, and to generate", async () => {
  for (const sha of [INTEL_SGX_ROOT_CA_SHA256, ...Object.values(AMD_ARK_SHA256)]) {
    await assert.rejects(
      simulatedRootFingerprint(sha.toUpperCase()),
      (e: unknown) =>
        e instanceof ParseError && e.field === "--simulated-root" &&
        /is the fingerprint of (Intel SGX Root CA|AMD ARK-\w+), a real vendor root/.test(e.reason),
    );
  }
  // referenceValuesFor (what generate calls) refuses it too, for either simulated platform.
  await assert.rejects(
    referenceValuesFor("Simulated-TDX", { mrTd: M, simulatedRootSha256: INTEL_SGX_ROOT_CA_SHA256 }),
    (e: unknown) =>
      e instanceof ParseError && e.field === "--simulated-root" &&
      /Intel SGX Root CA/.test(e.reason),
  );
  await assert.rejects(
    referenceValuesFor("Simulated-SNP", {
      trustedMeasurement: M,
      simulatedRootSha256: AMD_ARK_SHA256.Genoa,
    }),
    (e: unknown) =>
      e instanceof ParseError && e.field === "--simulated-root" && /AMD ARK-Genoa/.test(e.reason),
  );
});

conformanceTest(
  "--simulated-root refuses the vendors' real root certificates given as files",
  async () => {
    const paths = [
      ["intel/Intel_SGX_Root_CA.pem", "Intel SGX Root CA"],
      ["amd/milan/ark.pem", "AMD ARK-Milan"],
      ["amd/genoa/ark.pem", "AMD ARK-Genoa"],
      ["amd/turin/ark.pem", "AMD ARK-Turin"],
    ];
    for (const [path, name] of paths) {
      const file = conformanceFile(path!).pathname;
      await assert.rejects(
        simulatedRootFingerprint(file),
        (e: unknown) =>
          e instanceof ParseError && e.field === "--simulated-root" &&
          e.reason.startsWith(`${file} is the fingerprint of ${name}, a real vendor root`),
      );
    }
  },
);
