import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { gzipDeterministic } from "../../policy/gzip.ts";
import {
  decodeInitdataAnnotation,
  encodeInitdataAnnotation,
  encodeInitdataToml,
  INITDATA_ANNOTATION,
  LEGACY_POLICY_ANNOTATION,
  parseInitdata,
  readAnnotatedPolicy,
  renderPolicyText,
  snpHostData,
  splitPolicyText,
  tdxMrConfigId,
} from "../../policy/initdata.ts";

const tricky = 'package x\n# "quotes" and \\backslashes\\ and """triple""" and \'\'\'lit\'\'\'\n' +
  "tab\there \u0001 ctl\r\n unicode: é 🚀\n";

Deno.test("initdata TOML round-trips tricky policy text exactly through a real TOML parser", async () => {
  const bytes = encodeInitdataToml({ "policy.rego": tricky });
  const parsed = parseToml(new TextDecoder().decode(bytes)) as { data: Record<string, string> };
  assert.equal(parsed.data["policy.rego"], tricky);
  const initdata = await parseInitdata(bytes);
  assert.equal(initdata.data["policy.rego"], tricky);
  assert.equal(initdata.algorithm, "sha256");
});

Deno.test("initdata digest is SHA-256 over the exact TOML bytes", async () => {
  const bytes = encodeInitdataToml({ "policy.rego": "package agent_policy\n" });
  const initdata = await parseInitdata(bytes);
  const expected = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  assert.deepEqual(initdata.digest, expected);
  // A semantically equal re-serialisation has a different digest: the bytes are what count.
  const respaced = new TextEncoder().encode(new TextDecoder().decode(bytes).replace(" = ", "  = "));
  const other = await parseInitdata(respaced);
  assert.notEqual(encodeHex(other.digest), encodeHex(initdata.digest));
});

Deno.test("initdata annotation is byte-identical across runs and decodes back", async () => {
  const bytes = encodeInitdataToml({ "policy.rego": tricky });
  const a = await encodeInitdataAnnotation(bytes);
  const b = await encodeInitdataAnnotation(bytes);
  assert.equal(a, b);
  const gz = Uint8Array.from(atob(a), (c) => c.charCodeAt(0));
  assert.deepEqual([...gz.slice(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const decoded = await decodeInitdataAnnotation(a);
  assert.deepEqual(decoded.bytes, bytes);
  assert.equal(decoded.data["policy.rego"], tricky);
});

Deno.test("rejects an initdata annotation whose gzip CRC was flipped", async () => {
  const gz = await gzipDeterministic(encodeInitdataToml({ "policy.rego": "x" }));
  gz[gz.length - 6]! ^= 0xff;
  await assert.rejects(decodeInitdataAnnotation(encodeBase64(gz)), ParseError);
});

Deno.test("rejects an initdata annotation that is not gzip or not base64", async () => {
  await assert.rejects(decodeInitdataAnnotation(encodeBase64(new Uint8Array(40))), /not gzip/);
  await assert.rejects(decodeInitdataAnnotation("%%%"), ParseError);
});

Deno.test("rejects an initdata annotation that decompresses beyond the size limit", async () => {
  const huge = new Uint8Array(9 * 1024 * 1024);
  const annotation = encodeBase64(await gzipDeterministic(huge));
  await assert.rejects(decodeInitdataAnnotation(annotation), /exceeds the limit/);
});

Deno.test("rejects initdata with a wrong version, algorithm, unknown field or non-string data", async () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  await assert.rejects(
    parseInitdata(enc('version = "0.2.0"\nalgorithm = "sha256"\n[data]\n')),
    (e: ParseError) => e.field === "initdata.version",
  );
  await assert.rejects(
    parseInitdata(enc('version = "0.1.0"\nalgorithm = "md5"\n[data]\n')),
    (e: ParseError) => e.field === "initdata.algorithm",
  );
  await assert.rejects(
    parseInitdata(enc('version = "0.1.0"\nalgorithm = "sha256"\nextra = 1\n[data]\n')),
    (e: ParseError) => e.field === "initdata.extra",
  );
  await assert.rejects(
    parseInitdata(enc('version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = 3\n')),
    (e: ParseError) => e.field === 'initdata.data["policy.rego"]',
  );
  await assert.rejects(parseInitdata(enc("version = ")), /not valid TOML/);
  await assert.rejects(parseInitdata(new Uint8Array([0xff, 0xfe])), /UTF-8/);
});

Deno.test("sha384 initdata gives a 48-byte digest used whole as MRCONFIGID", async () => {
  const initdata = await parseInitdata(encodeInitdataToml({ "policy.rego": "p" }, "sha384"));
  assert.equal(initdata.digest.length, 48);
  assert.deepEqual(tdxMrConfigId(initdata.digest), initdata.digest);
});

Deno.test("sha256 digest maps to HOST_DATA as is and to MRCONFIGID padded with 16 zero bytes", () => {
  const d = new Uint8Array(32).fill(7);
  assert.deepEqual(snpHostData(d), d);
  const m = tdxMrConfigId(d);
  assert.equal(m.length, 48);
  assert.deepEqual(m.slice(0, 32), d);
  assert.deepEqual(m.slice(32), new Uint8Array(16));
  assert.throws(() => snpHostData(new Uint8Array(48)), ParseError);
});

Deno.test("reads the legacy policy annotation with SHA-256 of the text as digest", async () => {
  const text = "package agent_policy\n";
  const raw = new TextEncoder().encode(text);
  const policy = await readAnnotatedPolicy({ [LEGACY_POLICY_ANNOTATION]: encodeBase64(raw) });
  assert.equal(policy?.form, "legacy");
  assert.equal(policy?.policy, text);
  assert.deepEqual(
    policy?.digest,
    new Uint8Array(await crypto.subtle.digest("SHA-256", raw as Uint8Array<ArrayBuffer>)),
  );
});

Deno.test("prefers initdata over the legacy annotation and rejects initdata without a policy", async () => {
  const withPolicy = await encodeInitdataAnnotation(encodeInitdataToml({ "policy.rego": "new" }));
  const both = await readAnnotatedPolicy({
    [INITDATA_ANNOTATION]: withPolicy,
    [LEGACY_POLICY_ANNOTATION]: encodeBase64(new TextEncoder().encode("old")),
  });
  assert.equal(both?.form, "initdata");
  assert.equal(both?.policy, "new");
  const without = await encodeInitdataAnnotation(encodeInitdataToml({ "other": "x" }));
  await assert.rejects(readAnnotatedPolicy({ [INITDATA_ANNOTATION]: without }), /no policy/);
  assert.equal(await readAnnotatedPolicy({}), undefined);
});

Deno.test("policy text splits back into the exact rules and the policy data", () => {
  const rules = "package agent_policy\n\nx := 1\n";
  const data = { containers: [{ name: "a" }] };
  const text = renderPolicyText(rules, data);
  const split = splitPolicyText(text);
  assert.equal(split.rules, rules);
  assert.deepEqual(split.policyData, data);
  assert.throws(() => splitPolicyText("package x\n"), ParseError);
  assert.throws(() => splitPolicyText("r\n\npolicy_data := {bad"), /not valid JSON/);
});
