// deno-lint-ignore-file no-explicit-any
/**
 * Manifests in both directions between contrast and Edgeless Contrast, checked against a model of
 * Contrast's published Go structs (`internal/manifest/manifest.go` and `referencevalues.go` of
 * edgelesssys/contrast: `Manifest`, `PolicyEntry`, `SNPReferenceValues`, `SNPTCB`,
 * go-sev-guest's `abi.SnpPolicy` and `abi.SnpPlatformInfo`, `TDXReferenceValues`). Go's
 * encoding/json writes every field (nil slices as `null`) and ignores unknown fields when
 * reading, so a Contrast reader accepts contrast's manifest when every field it knows has its
 * type and the rest are contrast's extensions.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { encodeHex } from "../../util/bytes/mod.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { readRsaPublicKey } from "../../manifest/public_keys.ts";
import { runCli } from "../../cli/main.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { TEST_REFERENCE_VALUES } from "../policy/fixtures.ts";

const SHARED_SNP = TEST_REFERENCE_VALUES.snp[0]!;

type GoType = "string" | "hex" | "int" | "bool" | "hex[]" | "string[]" | "hex[4]" | Shape;
interface Shape {
  readonly [field: string]: GoType;
}

const SNP_POLICY: Shape = {
  ABIMinor: "int",
  ABIMajor: "int",
  SMT: "bool",
  MigrateMA: "bool",
  Debug: "bool",
  SingleSocket: "bool",
  CXLAllowed: "bool",
  MemAES256XTS: "bool",
  RAPLDis: "bool",
  CipherTextHidingDRAM: "bool",
  PageSwapDisable: "bool",
};
const SNP_PLATFORM_INFO: Shape = {
  SMTEnabled: "bool",
  TSMEEnabled: "bool",
  ECCEnabled: "bool",
  RAPLDisabled: "bool",
  CiphertextHidingDRAMEnabled: "bool",
  AliasCheckComplete: "bool",
  TIOEnabled: "bool",
};
/** Contrast's `SNPReferenceValues`. */
const CONTRAST_SNP: Shape = {
  Platform: "string",
  ProductName: "string",
  TrustedMeasurement: "hex",
  MinimumTCB: {
    BootloaderVersion: "int",
    TEEVersion: "int",
    SNPVersion: "int",
    MicrocodeVersion: "int",
  },
  GuestPolicy: SNP_POLICY,
  PlatformInfo: SNP_PLATFORM_INFO,
  MinimumMitigationVector: "int",
  AllowedChipIDs: "hex[]",
  CPUs: "int",
  APEIP: "hex",
};
/** Contrast's `TDXReferenceValues`. */
const CONTRAST_TDX: Shape = {
  Platform: "string",
  MinTCBEvaluationDataNumber: "int",
  MrTd: "hex",
  MrSeam: "hex",
  Rtmrs: "hex[4]",
  Xfam: "hex",
  AllowedPIIDs: "hex[]",
  MemoryIntegrity: "bool",
  SMTDisabled: "bool",
  StaticPlatform: "bool",
  CPUs: "int",
};
const CONTRAST_POLICY_ENTRY: Shape = {
  SANs: "string[]",
  WorkloadSecretID: "string",
  Role: "string",
};

/** The fields contrast writes that Contrast does not know (documented in the README). */
const CONTRAST_EXTENSIONS = new Set([
  "snp[].MinimumTCB.FMCVersion",
  "snp[].TrustedIDKeyDigests",
  "snp[].VMPL",
  "snp[].SimulatedRootSHA256",
  "tdx[].TdAttributes",
  "tdx[].AllowedTcbStatuses",
  "tdx[].SimulatedRootSHA256",
]);

/** Fields of `value` unknown to `shape`; throws when a known field has another type. */
function unknownFields(value: unknown, shape: Shape, path: string): string[] {
  assert.ok(typeof value === "object" && value !== null && !Array.isArray(value), path);
  const unknown: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const type = shape[key];
    const at = path ? `${path}.${key}` : key;
    if (type === undefined) unknown.push(at);
    else if (typeof type === "object") unknown.push(...unknownFields(v, type, at));
    else assertGoType(v, type, at);
  }
  return unknown;
}

function assertGoType(v: unknown, type: GoType, at: string): void {
  const isHex = (x: unknown) => typeof x === "string" && /^([0-9a-f]{2})*$/.test(x);
  const list = (ok: (x: unknown) => boolean) => v === null || (Array.isArray(v) && v.every(ok));
  const ok = type === "string"
    ? typeof v === "string"
    : type === "hex"
    ? isHex(v)
    : type === "int"
    ? Number.isInteger(v)
    : type === "bool"
    ? typeof v === "boolean"
    : type === "hex[]"
    ? list(isHex)
    : type === "string[]"
    ? list((x) => typeof x === "string")
    : type === "hex[4]"
    ? Array.isArray(v) && v.length === 4 && v.every(isHex)
    : false;
  assert.ok(ok, `${at}: ${JSON.stringify(v)} is not a Go ${String(type)}`);
}

/** What a Contrast reader does not know in contrast's `manifest`: must be our extensions. */
function contrastUnknownFields(manifest: Record<string, any>): string[] {
  const unknown = unknownFields(
    { ...manifest, Policies: {}, ReferenceValues: {} },
    {
      Policies: {},
      ReferenceValues: {},
      WorkloadOwnerPubKeys: "hex[]",
      SeedshareOwnerPubKeys: "hex[]",
    },
    "",
  );
  for (const [digest, entry] of Object.entries(manifest.Policies)) {
    assert.match(digest, /^[0-9a-f]{64}$/);
    unknown.push(...unknownFields(entry, CONTRAST_POLICY_ENTRY, "Policies[]"));
  }
  for (const e of manifest.ReferenceValues.snp ?? []) {
    unknown.push(...unknownFields(e, CONTRAST_SNP, "snp[]"));
  }
  for (const e of manifest.ReferenceValues.tdx ?? []) {
    unknown.push(...unknownFields(e, CONTRAST_TDX, "tdx[]"));
  }
  return [...new Set(unknown)].sort();
}

function rsaPkcs1Hex(): string {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return encodeHex(new Uint8Array(publicKey.export({ type: "pkcs1", format: "der" })));
}

Deno.test("a manifest as Contrast's Go structs marshal it is read, with its new fields", () => {
  // Every field present, nil slices as null, as encoding/json writes Contrast's structs.
  const contrastManifest = {
    Policies: {
      ["a1".repeat(32)]: { SANs: ["coordinator", "*"], WorkloadSecretID: "", Role: "coordinator" },
      ["b2".repeat(32)]: { SANs: ["web", "*"] }, // omitempty drops an empty ID and role
    },
    ReferenceValues: {
      snp: [{
        // The shared fixture's identity and TCB; the rest as Contrast's structs marshal it.
        Platform: SHARED_SNP.Platform,
        ProductName: SHARED_SNP.ProductName,
        TrustedMeasurement: SHARED_SNP.TrustedMeasurement,
        MinimumTCB: SHARED_SNP.MinimumTCB,
        GuestPolicy: Object.fromEntries(
          Object.keys(SNP_POLICY).map((
            k,
          ) => [k, k === "SMT" ? true : k.startsWith("ABI") ? 0 : false]),
        ),
        PlatformInfo: Object.fromEntries(
          Object.keys(SNP_PLATFORM_INFO).map((k) => [k, k === "SMTEnabled"]),
        ),
        MinimumMitigationVector: 5,
        AllowedChipIDs: null,
        CPUs: 2,
        APEIP: "0080b004",
      }],
      tdx: [{
        Platform: "Metal-QEMU-TDX",
        MinTCBEvaluationDataNumber: 17,
        MrTd: "cd".repeat(48),
        MrSeam: "ef".repeat(48),
        Rtmrs: ["e0", "e1", "e2", "e3"].map((b) => b.repeat(48)),
        Xfam: "e702060000000000",
        AllowedPIIDs: ["0f".repeat(16)],
        MemoryIntegrity: true,
        SMTDisabled: true,
        StaticPlatform: true,
        CPUs: 2,
      }],
    },
    WorkloadOwnerPubKeys: null,
    SeedshareOwnerPubKeys: [rsaPkcs1Hex()],
  };
  assert.deepEqual(contrastUnknownFields(contrastManifest), []); // the model fits the example
  const m = parseManifest(new TextEncoder().encode(JSON.stringify(contrastManifest, null, 2)));
  const snp = m.ReferenceValues.snp[0]!;
  assert.equal(snp.MinimumMitigationVector, 5);
  assert.equal(snp.PlatformInfo?.SMTEnabled, true);
  assert.equal(snp.CPUs, 2);
  assert.equal(snp.APEIP, "0080b004"); // enforced: tests/snp/apeip_test.ts
  assert.equal(snp.VMPL, 0); // absent in Contrast's struct: contrast's default pins VMPL 0
  const tdx = m.ReferenceValues.tdx[0]!;
  assert.deepEqual(tdx.AllowedPIIDs, [new Uint8Array(16).fill(0x0f)]);
  assert.equal(tdx.MemoryIntegrity, true);
  assert.equal(tdx.SMTDisabled, true);
  assert.equal(tdx.StaticPlatform, true);
  assert.equal(m.Policies["b2".repeat(32)]!.Role, "");
  const key = readRsaPublicKey(Uint8Array.from(
    m.SeedshareOwnerPubKeys[0]!.match(/../g)!.map((h) => parseInt(h, 16)),
  ));
  assert.ok(!("error" in key) && key.encoding === "pkcs1");
});

Deno.test("wrong types in Contrast's new fields are refused at their JSON path", () => {
  const base = {
    Policies: { ["a1".repeat(32)]: { SANs: ["c"], Role: "coordinator" } },
    ReferenceValues: {
      tdx: [{
        Platform: "Metal-QEMU-TDX",
        MrTd: "cd".repeat(48),
        Rtmrs: ["e0", "e1", "e2", "e3"].map((b) => b.repeat(48)),
        AllowedPIIDs: ["0f"],
        SMTDisabled: "yes",
      }],
    },
  };
  assert.throws(
    () => parseManifest(new TextEncoder().encode(JSON.stringify(base))),
    (e: any) =>
      e.issues.some((i: any) => i.path === "ReferenceValues.tdx[0].AllowedPIIDs[0]") &&
      e.issues.some((i: any) => i.path === "ReferenceValues.tdx[0].SMTDisabled"),
  );
});

Deno.test("contrast generate's manifests: Contrast knows every field but contrast's extensions", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/app.yml`,
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    const runs: Record<string, string[]> = {
      "Metal-QEMU-SNP": ["--trusted-measurement", "ab".repeat(48), "--ap-eip", "0080b004"],
      "Metal-QEMU-TDX": [
        "--mrtd",
        "cd".repeat(48),
        "--mrseam",
        "5e".repeat(48),
        ...["e0", "e1", "e2", "e3"].flatMap((b) => ["--rtmr", b.repeat(48)]),
      ],
    };
    const { error } = console;
    console.error = () => {};
    try {
      for (const [platform, flags] of Object.entries(runs)) {
        const ws = `${dir}/${platform}`;
        const code = await runCli([
          "generate",
          "--reference-values",
          platform,
          ...flags,
          "-w",
          ws,
          `${dir}/app.yml`,
        ]);
        assert.equal(code, 0);
        const manifest = JSON.parse(await Deno.readTextFile(`${ws}/manifest.json`));
        const unknown = contrastUnknownFields(manifest);
        for (const entry of manifest.ReferenceValues.snp ?? []) {
          assert.equal(entry.APEIP, "0080b004", `${platform}: APEIP written as Contrast reads it`);
        }
        for (const entry of manifest.ReferenceValues.tdx ?? []) {
          // Contrast's TDXReferenceValues.Validate refuses an entry without these two.
          assert.match(entry.MrSeam, /^[0-9a-f]{96}$/, `${platform}: MrSeam`);
          assert.match(entry.Xfam, /^[0-9a-f]{16}$/, `${platform}: Xfam`);
        }
        for (const field of unknown) {
          assert.ok(
            CONTRAST_EXTENSIONS.has(field),
            `${platform}: ${field} is neither Contrast's nor a documented extension`,
          );
        }
        for (const key of manifest.SeedshareOwnerPubKeys) {
          const info = readRsaPublicKey(
            Uint8Array.from(key.match(/../g).map((h: string) => parseInt(h, 16))),
          );
          assert.ok(
            !("error" in info) && info.encoding === "pkcs1",
            "seedshare keys in Contrast's encoding",
          );
        }
      }
    } finally {
      console.error = error;
    }
  }));
