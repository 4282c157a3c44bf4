import assert from "node:assert/strict";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { childPath, type IssueList, ObjectReader } from "../../util/json/mod.ts";
import {
  coordinatorPolicyDigest,
  coordinatorPolicyDigests,
  parseManifest,
  parseManifestWith,
  type ReferenceValueReaders,
} from "../../manifest/manifest.ts";
import { manifestHash, transitionHash } from "../../manifest/hash.ts";
import { generateRsaOaepKeys } from "../../testing/keys.ts";

/**
 * Stand-in entry readers with the same contract as the SNP/TDX modules' readers (value, path,
 * issues): they let these tests exercise the manifest's own rules independently of them.
 */
const READERS: ReferenceValueReaders<{ SNPVersion: number }, { MrTd: string }> = {
  snp: (value: unknown, path: string, issues: IssueList) => {
    const r = new ObjectReader(value, path, issues);
    if (!r.ok) return undefined;
    const SNPVersion = r.integer("SNPVersion", { min: 0, max: 255 });
    r.finish();
    return SNPVersion === undefined ? undefined : { SNPVersion };
  },
  tdx: (value: unknown, path: string, issues: IssueList) => {
    const r = new ObjectReader(value, path, issues);
    if (!r.ok) return undefined;
    const MrTd = r.hex("MrTd", 48);
    r.finish();
    return MrTd === undefined ? undefined : { MrTd };
  },
};

const D1 = "a".repeat(64);
const D2 = "b".repeat(64);

const ecKey = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
  "sign",
  "verify",
]) as CryptoKeyPair;
const EC_HEX = encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", ecKey.publicKey)));
const rsaKey = await generateRsaOaepKeys();
const RSA_HEX = encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", rsaKey.publicKey)));

function valid(): Record<string, unknown> {
  return {
    Policies: {
      [D1]: { SANs: ["coordinator", "*", "10.0.0.1"], WorkloadSecretID: "", Role: "coordinator" },
      [D2]: { SANs: ["web", "spiffe://mesh/web", "fe80::1"], WorkloadSecretID: "web", Role: "" },
    },
    ReferenceValues: { snp: [{ SNPVersion: 22 }], tdx: [] },
    WorkloadOwnerPubKeys: [EC_HEX],
    SeedshareOwnerPubKeys: [RSA_HEX],
  };
}

function bytesOf(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 2));
}

function issuesOf(value: unknown): { path: string; reason: string }[] {
  try {
    parseManifestWith(value instanceof Uint8Array ? value : bytesOf(value), READERS);
  } catch (e) {
    assert.ok(e instanceof InvalidDocumentError, String(e));
    return [...e.issues];
  }
  assert.fail("expected the manifest to be rejected");
}

function assertIssue(value: unknown, path: string, reason: RegExp) {
  const issues = issuesOf(value);
  assert.ok(
    issues.some((i) => i.path === path && reason.test(i.reason)),
    `no issue at ${path} matching ${reason}; got ${JSON.stringify(issues)}`,
  );
}

Deno.test("parses a valid manifest with Contrast field names and keeps the exact bytes", () => {
  const bytes = bytesOf(valid());
  const m = parseManifestWith(bytes, READERS);
  assert.deepEqual(m.bytes, bytes);
  assert.equal(coordinatorPolicyDigest(m), D1);
  assert.deepEqual(m.Policies[D1]!.sans, [
    { kind: "dns", value: "coordinator" },
    { kind: "dns", value: "*" },
    { kind: "ip", value: "10.0.0.1" },
  ]);
  assert.deepEqual(m.Policies[D2]!.sans.map((s) => s.kind), ["dns", "uri", "ip"]);
  assert.equal(m.Policies[D2]!.WorkloadSecretID, "web");
  assert.deepEqual(m.ReferenceValues.snp, [{ SNPVersion: 22 }]);
  assert.deepEqual(m.WorkloadOwnerPubKeys, [EC_HEX]);
  assert.deepEqual(m.SeedshareOwnerPubKeys, [RSA_HEX]);
});

Deno.test("manifest hash is over the exact bytes, not a re-serialisation", async () => {
  const pretty = bytesOf(valid());
  const compact = new TextEncoder().encode(JSON.stringify(valid()));
  const a = parseManifestWith(pretty, READERS);
  const b = parseManifestWith(compact, READERS);
  assert.deepEqual(await manifestHash(a.bytes), await sha256(pretty));
  assert.notDeepEqual(await manifestHash(a.bytes), await manifestHash(b.bytes));
});

Deno.test("errors name the reference value's JSON path (reader errors surface through the manifest)", () => {
  const m = valid();
  m.ReferenceValues = { snp: [{ SNPVersion: 300 }] };
  assertIssue(m, "ReferenceValues.snp[0].SNPVersion", /0–255, got 300/);
});

Deno.test("several problems are reported together", () => {
  const m = valid();
  m.Extra = 1;
  (m.Policies as Record<string, unknown>)[D2] = { SANs: [7], Role: "admin" };
  m.WorkloadOwnerPubKeys = ["zz"];
  const issues = issuesOf(m);
  const paths = issues.map((i) => i.path);
  for (
    const p of [
      `${childPath("Policies", D2)}.SANs[0]`,
      `${childPath("Policies", D2)}.Role`,
      "WorkloadOwnerPubKeys[0]",
      "Extra",
    ]
  ) {
    assert.ok(paths.includes(p), `missing ${p} in ${JSON.stringify(issues)}`);
  }
  assert.ok(issues.length >= 4);
});

Deno.test("rejects unknown fields at every level", () => {
  const top = valid();
  top.Surprise = true;
  assertIssue(top, "Surprise", /unknown field/);
  const inPolicy = valid();
  ((inPolicy.Policies as Record<string, Record<string, unknown>>)[D1]!).Secret = "x";
  assertIssue(inPolicy, `${childPath("Policies", D1)}.Secret`, /unknown field/);
  const inRv = valid();
  (inRv.ReferenceValues as Record<string, unknown>).sev = [];
  assertIssue(inRv, "ReferenceValues.sev", /unknown field/);
});

Deno.test("rejects policy keys that are not 64 lower-case hex digits", () => {
  for (const bad of ["abc", "A".repeat(64), "g".repeat(64), "a".repeat(66)]) {
    const m = valid();
    (m.Policies as Record<string, unknown>)[bad] = { SANs: [], Role: "" };
    assertIssue(m, childPath("Policies", bad), /64 lower-case hex/);
  }
});

Deno.test("requires at least one coordinator role and allows several", () => {
  const none = valid();
  ((none.Policies as Record<string, Record<string, unknown>>)[D1]!).Role = "";
  assertIssue(none, "Policies", /found none/);
  const two = valid();
  ((two.Policies as Record<string, Record<string, unknown>>)[D2]!).Role = "coordinator";
  const parsedTwo = parseManifestWith(bytesOf(two), READERS);
  assert.deepEqual(coordinatorPolicyDigests(parsedTwo).sort(), [D1, D2].sort());
  const empty = valid();
  empty.Policies = {};
  assertIssue(empty, "Policies", /at least one policy/);
  const missing = valid();
  delete missing.Policies;
  assertIssue(missing, "Policies", /required field is missing/);
});

Deno.test("rejects an unknown role and wrong types", () => {
  const m = valid();
  ((m.Policies as Record<string, Record<string, unknown>>)[D2]!).Role = "admin";
  assertIssue(m, `${childPath("Policies", D2)}.Role`, /"coordinator"/);
  const t = valid();
  ((t.Policies as Record<string, Record<string, unknown>>)[D2]!).WorkloadSecretID = 5;
  assertIssue(t, `${childPath("Policies", D2)}.WorkloadSecretID`, /expected a string/);
  const arr = valid();
  arr.Policies = [];
  assertIssue(arr, "Policies", /expected an object/);
});

Deno.test("rejects SANs that are neither IP, URI nor DNS, and duplicate SANs", () => {
  for (const bad of ["bad name", "host:8080", "-leading.dash", "a..b", "http://[zz", ""]) {
    const m = valid();
    ((m.Policies as Record<string, Record<string, unknown>>)[D2]!).SANs = [bad];
    assertIssue(m, `${childPath("Policies", D2)}.SANs[0]`, /not/);
  }
  // A URI SAN that node would print as two SANs, or that carries a line break: named field.
  for (const bad of ["spiffe://x/a, DNS:coordinator", "spiffe://x/a\u010d\u010aX: forged"]) {
    const m = valid();
    ((m.Policies as Record<string, Record<string, unknown>>)[D2]!).SANs = ["web", bad];
    assertIssue(m, `${childPath("Policies", D2)}.SANs[1]`, /printable ASCII without blanks/);
  }
  const dup = valid();
  ((dup.Policies as Record<string, Record<string, unknown>>)[D2]!).SANs = ["web", "web"];
  assertIssue(dup, `${childPath("Policies", D2)}.SANs[1]`, /duplicate/);
});

Deno.test("rejects empty reference values", () => {
  for (const rv of [{}, { snp: [], tdx: [] }, { snp: null }]) {
    const m = valid();
    m.ReferenceValues = rv;
    assertIssue(m, "ReferenceValues", /at least one snp or tdx reference value/);
  }
  const missing = valid();
  delete missing.ReferenceValues;
  assertIssue(missing, "ReferenceValues", /required field is missing/);
});

Deno.test("rejects workload owner keys that are not ECDSA PKIX DER, and seedshare keys that are not RSA", () => {
  const wrongKind = valid();
  wrongKind.WorkloadOwnerPubKeys = [RSA_HEX];
  assertIssue(wrongKind, "WorkloadOwnerPubKeys[0]", /expected an ECDSA key/);
  const notHex = valid();
  notHex.WorkloadOwnerPubKeys = ["xyz"];
  assertIssue(notHex, "WorkloadOwnerPubKeys[0]", /hex/);
  const truncated = valid();
  truncated.WorkloadOwnerPubKeys = [EC_HEX.slice(0, -2)];
  assertIssue(truncated, "WorkloadOwnerPubKeys[0]", /./);
  const trailing = valid();
  trailing.WorkloadOwnerPubKeys = [EC_HEX + "00"];
  assertIssue(trailing, "WorkloadOwnerPubKeys[0]", /trailing/);
  const dup = valid();
  dup.WorkloadOwnerPubKeys = [EC_HEX, EC_HEX.toUpperCase()];
  assertIssue(dup, "WorkloadOwnerPubKeys[1]", /duplicate/);
  const rsa = valid();
  rsa.SeedshareOwnerPubKeys = [EC_HEX];
  assertIssue(rsa, "SeedshareOwnerPubKeys[0]", /expected an RSA key/);
});

Deno.test("rejects an RSA seedshare key shorter than 2048 bits", async () => {
  const small = await generateRsaOaepKeys(1024);
  const m = valid();
  m.SeedshareOwnerPubKeys = [
    encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", small.publicKey))),
  ];
  assertIssue(m, "SeedshareOwnerPubKeys[0]", /1024 bits/);
});

Deno.test("owner key lists may be absent or empty (updates disabled, no shares)", () => {
  const m = valid();
  delete m.WorkloadOwnerPubKeys;
  m.SeedshareOwnerPubKeys = [];
  const parsed = parseManifestWith(bytesOf(m), READERS);
  assert.deepEqual(parsed.WorkloadOwnerPubKeys, []);
  assert.deepEqual(parsed.SeedshareOwnerPubKeys, []);
});

Deno.test("rejects bytes that are not JSON, not UTF-8, or not an object", () => {
  assertIssue(new TextEncoder().encode("{"), "(root)", /not valid UTF-8 JSON/);
  assertIssue(new Uint8Array([0xff, 0xfe]), "(root)", /not valid UTF-8 JSON/);
  assertIssue(new TextEncoder().encode("[]"), "(root)", /expected an object/);
});

Deno.test("transition hash = SHA-256(SHA-256(manifest) ‖ previous), first previous = 32 zero bytes", async () => {
  const bytes = bytesOf(valid());
  const mh = await manifestHash(bytes);
  const zero = new Uint8Array(32);
  const first = await transitionHash(mh, zero);
  const joined = new Uint8Array(64);
  joined.set(mh);
  assert.deepEqual(first, await sha256(joined));
  const second = await transitionHash(mh, first);
  joined.set(first, 32);
  assert.deepEqual(second, await sha256(joined));
  await assert.rejects(() => transitionHash(mh, new Uint8Array(31)), /previousTransition/);
  await assert.rejects(() => transitionHash(new Uint8Array(33), zero), /manifestHash/);
});

Deno.test("a manifest nested too deep or of too many elements is refused before parsing", () => {
  // Review (low, first-manifest parse bomb): a first manifest is parsed before its signature can
  // be checked; 24 MiB of nested brackets had cost 1.5 GB in parsing and 8 million
  // WorkloadOwnerPubKeys entries 92 s of CPU. Both are now refused by a linear scan (before: the
  // first as "expected an object, got array", the second after reading every entry).
  const refused = (text: string, reason: RegExp) =>
    assert.throws(
      () => parseManifest(new TextEncoder().encode(text)),
      (e: unknown) =>
        e instanceof InvalidDocumentError && e.issues[0]!.path === "(root)" &&
        reason.test(e.issues[0]!.reason),
    );
  refused("[".repeat(33) + "]".repeat(33), /^nested deeper than 32: refused before parsing$/);
  refused(
    `{"WorkloadOwnerPubKeys":[${Array(262_146).fill('""').join(",")}]}`,
    /^more than 262144 array elements and object members: refused before parsing$/,
  );
  // Within the bounds a document is read as before (and its problems named by path).
  assert.throws(
    () => parseManifest(new TextEncoder().encode("[".repeat(32) + "]".repeat(32))),
    (e: unknown) => e instanceof InvalidDocumentError && /expected an object/.test(e.message),
  );
});
