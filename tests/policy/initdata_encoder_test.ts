import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { PolicyInitdataEncoder } from "../../policy/initdata_encoder.ts";
import {
  decodeInitdataAnnotation,
  encodeInitdataToml,
  renderPolicyText,
} from "../../policy/initdata.ts";
import { measurePolicyText } from "../../policy/agent_limits.ts";
import { decodeBase64 } from "../../util/bytes/mod.ts";

const tricky = 'package x\n# "quotes" and \\backslashes\\ and """triple""" and \'\'\'lit\'\'\'\n' +
  "tab\there \u0001 ctl\r\n unicode: é 🚀\n";

const datas: unknown[] = [
  { containers: [{ name: 'we"ird\\', env: ["A=\u0001", "DEL=\u007f"] }] },
  { containers: [{ name: "ü€", args: ["x".repeat(70_000)] }] },
  {},
];

Deno.test("the shared-rules encoder gives the general functions' TOML, digest and size", async () => {
  for (const rules of [tricky, tricky.trimEnd(), "package agent_policy\n".repeat(4000)]) {
    const encoder = new PolicyInitdataEncoder(rules);
    for (const data of datas) {
      const text = renderPolicyText(rules, data);
      const expected = encodeInitdataToml({ "policy.rego": text });
      const got = encoder.encode(data);
      assert.deepEqual(got.toml, expected);
      assert.deepEqual(got.digest, new Uint8Array(createHash("sha256").update(expected).digest()));
      assert.deepEqual(got.policyTextSize, measurePolicyText(text));
      const [annotation] = await encoder.annotations([got]);
      const decoded = await decodeInitdataAnnotation(annotation!);
      assert.deepEqual(decoded.bytes, expected);
      assert.deepEqual(decoded.digest, got.digest);
      assert.deepEqual(new Uint8Array(gunzipSync(decodeBase64(annotation!))), expected);
    }
  }
});

Deno.test("the shared-rules encoder's annotations decode to each pod's TOML, batched or not", async () => {
  const encoder = new PolicyInitdataEncoder(tricky);
  const encoded = datas.map((d) => encoder.encode(d));
  const batch = await encoder.annotations([...encoded, encoded[0]!]);
  for (const [i, e] of encoded.entries()) {
    assert.deepEqual((await decodeInitdataAnnotation(batch[i]!)).bytes, e.toml);
    assert.equal((await encoder.annotations([e]))[0], batch[i]);
  }
  assert.equal(batch[encoded.length], batch[0]);
});

Deno.test("the shared-rules encoder is deterministic across instances", async () => {
  const a = new PolicyInitdataEncoder(tricky);
  const b = new PolicyInitdataEncoder(tricky);
  assert.deepEqual(
    await a.annotations([a.encode(datas[0])]),
    await b.annotations([b.encode(structuredClone(datas[0]))]),
  );
});

Deno.test("the shared-rules encoder's results stay as they were when it encodes the next pod", () => {
  const rules = "package agent_policy\n";
  const encoder = new PolicyInitdataEncoder(rules);
  const first = encoder.encode(datas[1]);
  const firstToml = first.toml.slice();
  const firstTail = first.tail.slice();
  for (const data of [datas[0], datas[2], datas[1]]) encoder.encode(data);
  assert.deepEqual(first.tail, firstTail);
  assert.deepEqual(first.toml, firstToml);
  assert.deepEqual(
    encoder.encode(datas[1]).toml,
    encodeInitdataToml({ "policy.rego": renderPolicyText(rules, datas[1]) }),
  );
});

Deno.test("encodeAnnotated gives encode's digest and size and annotation's value, also in parallel", async () => {
  const encoder = new PolicyInitdataEncoder(tricky);
  const expected = await Promise.all(datas.map(async (d) => {
    const e = encoder.encode(d);
    return {
      digest: e.digest,
      policyTextSize: e.policyTextSize,
      annotation: await encoder.annotation(e),
    };
  }));
  // Started together: each is encoded after the one before it was compressed from the buffer.
  const got = await Promise.all(datas.map((d) => encoder.encodeAnnotated(d)));
  assert.deepEqual(got.map(({ annotationParts: _, ...rest }) => rest), expected);
  for (const [i, g] of got.entries()) {
    // The parts join to the annotation; the first is the same text for every pod.
    assert.equal(g.annotationParts.join(""), g.annotation);
    assert.equal(g.annotationParts[0], got[0]!.annotationParts[0]);
    assert.deepEqual(
      (await decodeInitdataAnnotation(g.annotation)).bytes,
      encoder.encode(datas[i]).toml,
    );
  }
  encoder.close();
});
