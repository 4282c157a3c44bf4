import assert from "node:assert/strict";
import { encodeHex, encodePem } from "../../util/bytes/mod.ts";
import { InvalidDocumentError, ParseError } from "../../util/errors/mod.ts";
import {
  PLATFORMS,
  readPlatformTemplate,
  referenceValuesFor,
  simulatedRootFingerprint,
  withFlagHints,
} from "../../policy/reference_values.ts";

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
      e.issues.some((i) => i.path === "ReferenceValues.tdx[0].MrTd" && /--mrtd/.test(i.reason)) &&
      e.issues.some((i) => i.path === "ReferenceValues.tdx[0].MrSeam"),
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

Deno.test("a real TDX platform requires the TDX module (MrSeam, as Contrast does) and writes Xfam", async () => {
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-TDX", { mrTd: M, rtmrs: [M, M, M, M] }),
    (e: InvalidDocumentError) =>
      e.issues.length === 1 && e.issues[0]!.path === "ReferenceValues.tdx[0].MrSeam" &&
      /--mrseam/.test(e.issues[0]!.reason),
  );
  // One entry per TDX module version; the template's Xfam, or --xfam.
  const seams = ["a1".repeat(48), "b2".repeat(48)];
  const rv = await referenceValuesFor("Metal-QEMU-TDX", {
    mrTd: M,
    rtmrs: [M, M, M, M],
    mrSeams: seams,
  });
  assert.deepEqual(rv.tdx.map((e) => e.MrSeam), seams);
  assert.ok(rv.tdx.every((e) => e.Xfam === "e702060000000000" && e.MrTd === M));
  const own = await referenceValuesFor("Metal-QEMU-TDX", {
    mrTd: M,
    rtmrs: [M, M, M, M],
    mrSeams: [seams[0]!],
    xfam: "E71A060000000000",
  });
  assert.equal(own.tdx[0]!.Xfam, "e71a060000000000");
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-TDX", { mrTd: M, rtmrs: [M, M, M, M], mrSeams: ["ab"] }),
    (e: ParseError) => e.field === "--mrseam[0]",
  );
  await assert.rejects(
    referenceValuesFor("Metal-QEMU-TDX", {
      mrTd: M,
      rtmrs: [M, M, M, M],
      mrSeams: [M],
      xfam: "zz",
    }),
    (e: ParseError) => e.field === "--xfam",
  );
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
