import { strict as assert } from "node:assert";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { InvalidDocumentError, ParseError } from "../../../util/errors/mod.ts";
import { parseSignedPcsJson, topLevelSpans } from "../../../tdx/collateral/signed_json.ts";
import { parseTdxTcbInfoResponse } from "../../../tdx/collateral/tcb_info.ts";
import { parseQeIdentityResponse } from "../../../tdx/collateral/qe_identity.ts";
import { conformanceTest, readConformance, readConformanceManifest } from "../../conformance.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("signed span is the exact raw text, whitespace and escapes included", () => {
  const body = enc(
    '{ "tcbInfo" : {"a":"x\\"}","b":[1, {"c":2}]} ,"signature":"' +
      "ab".repeat(64) + '"}',
  );
  const s = parseSignedPcsJson(body, "tcbInfo", "t");
  assert.equal(dec(s.signedBytes), '{"a":"x\\"}","b":[1, {"c":2}]}');
  assert.deepEqual(s.value, { a: 'x"}', b: [1, { c: 2 }] });
  assert.equal(encodeHex(s.signature), "ab".repeat(64));
});

Deno.test("rejects a PCS body with a duplicate signed key", () => {
  assert.throws(() => topLevelSpans(enc('{"a":1,"a":2}'), "t"), ParseError);
});

Deno.test("rejects a PCS body with an unknown top-level field", () => {
  assert.throws(
    () =>
      parseSignedPcsJson(
        enc(`{"tcbInfo":{},"x":1,"signature":"${"00".repeat(64)}"}`),
        "tcbInfo",
        "t",
      ),
    (e: unknown) => e instanceof ParseError && e.field === "t.x",
  );
});

Deno.test("rejects a PCS body whose signature is not 64 bytes", () => {
  assert.throws(
    () => parseSignedPcsJson(enc(`{"tcbInfo":{},"signature":"00"}`), "tcbInfo", "t"),
    (e: unknown) => e instanceof ParseError && e.field === "t.signature",
  );
});

Deno.test("rejects a PCS body that is not JSON", () => {
  assert.throws(() => parseSignedPcsJson(enc("{"), "tcbInfo", "t"), ParseError);
});

conformanceTest("TCB info and QE identity of every vector parse to MANIFEST's values", async () => {
  const manifest = await readConformanceManifest();
  let n = 0;
  // deno-lint-ignore no-explicit-any
  for (const v of manifest.tdx as any[]) {
    const c = v.expected.collateral;
    if (!c) continue;
    const body = await readConformance(`${v.dir}/tcb_info.json`);
    const t = parseTdxTcbInfoResponse(body);
    // The signed bytes are a substring of the body, exactly.
    assert.ok(dec(body).includes(dec(t.signedBytes)));
    assert.equal(t.tcbInfo.id, c.tcb_info.id);
    assert.equal(t.tcbInfo.version, c.tcb_info.version);
    assert.equal(t.tcbInfo.issueDate.toISOString(), new Date(c.tcb_info.issueDate).toISOString());
    assert.equal(t.tcbInfo.nextUpdate.toISOString(), new Date(c.tcb_info.nextUpdate).toISOString());
    assert.equal(encodeHex(t.tcbInfo.fmspc), c.tcb_info.fmspc.toLowerCase());
    assert.equal(encodeHex(t.tcbInfo.pceId), c.tcb_info.pceId);
    assert.equal(t.tcbInfo.tcbEvaluationDataNumber, c.tcb_info.tcbEvaluationDataNumber);
    assert.equal(t.tcbInfo.tcbLevels.length, c.tcb_info.tcbLevels);
    assert.deepEqual(
      t.tcbInfo.tdxModuleIdentities.map((m) => m.id),
      c.tcb_info.tdxModuleIdentities,
    );
    const q = parseQeIdentityResponse(await readConformance(`${v.dir}/qe_identity.json`));
    assert.equal(q.qeIdentity.id, c.qe_identity.id);
    assert.equal(q.qeIdentity.isvProdId, c.qe_identity.isvprodid);
    assert.equal(encodeHex(q.qeIdentity.mrSigner), c.qe_identity.mrsigner.toLowerCase());
    assert.equal(q.qeIdentity.tcbEvaluationDataNumber, c.qe_identity.tcbEvaluationDataNumber);
    n++;
  }
  assert.equal(n, 4);
});

conformanceTest("rejects TCB info with an unknown TCB status, naming its path", async () => {
  const body = dec(await readConformance("tdx/v4-phala-b0c06f-uptodate/tcb_info.json"));
  const bad = enc(body.replace('"tcbStatus":"OutOfDate"', '"tcbStatus":"Fine"'));
  assert.throws(() => parseTdxTcbInfoResponse(bad), (e: unknown) => {
    assert.ok(e instanceof InvalidDocumentError);
    assert.match(e.issues[0]!.path, /tcbInfo\.tdxModuleIdentities\[1\]\.tcbLevels\[1\]\.tcbStatus/);
    return true;
  });
});

conformanceTest("rejects TCB info with 15 SGX components", async () => {
  const body = dec(await readConformance("tdx/v4-phala-b0c06f-uptodate/tcb_info.json"));
  const first = '{"svn":2,"category":"BIOS","type":"Early Microcode Update"},';
  assert.ok(body.includes(first));
  const bad = enc(body.replace(first, ""));
  assert.throws(() => parseTdxTcbInfoResponse(bad), InvalidDocumentError);
});

conformanceTest("rejects SGX TCB info where TDX TCB info is required", async () => {
  const body = dec(await readConformance("tdx/v4-phala-b0c06f-uptodate/tcb_info.json"));
  assert.throws(
    () => parseTdxTcbInfoResponse(enc(body.replace('"id":"TDX"', '"id":"SGX"'))),
    (e: unknown) => e instanceof InvalidDocumentError && e.issues[0]!.path === "tcbInfo.id",
  );
});

conformanceTest(
  "rejects TDX TCB info without its tdxModule (the module signer to check)",
  async () => {
    const body = dec(await readConformance("tdx/v4-phala-b0c06f-uptodate/tcb_info.json"));
    const bad = body.replace(/"tdxModule":\{[^}]*\},/, "");
    assert.notEqual(bad, body);
    assert.throws(
      () => parseTdxTcbInfoResponse(enc(bad)),
      (e: unknown) =>
        e instanceof InvalidDocumentError && e.issues[0]!.path === "tcbInfo.tdxModule",
    );
  },
);
