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
      const decoded = await decodeInitdataAnnotation(got.annotation);
      assert.deepEqual(decoded.bytes, expected);
      assert.deepEqual(decoded.digest, got.digest);
      assert.deepEqual(new Uint8Array(gunzipSync(decodeBase64(got.annotation))), expected);
    }
  }
});

Deno.test("the shared-rules encoder is deterministic across instances", () => {
  const a = new PolicyInitdataEncoder(tricky).encode(datas[0]);
  const b = new PolicyInitdataEncoder(tricky).encode(structuredClone(datas[0]));
  assert.equal(a.annotation, b.annotation);
});

Deno.test("pods sharing parts of their policy data get the general functions' bytes", async () => {
  const shared = { name: "pause", env: ["A=1", 'Q="x"\\'], nested: [[], {}, [1, [2]]] };
  const pods: unknown[] = [];
  for (let i = 0; i < 80; i++) {
    pods.push({
      version: 1,
      pod: { name: `pod-${i}`, "ü": "🚀\u0001" },
      containers: [shared, { name: `app-${i}`, args: ["a\nb", i] }, structuredClone(shared)],
      empty: [],
      nothing: {},
      skipped: undefined,
      fn: () => 1,
      holes: [undefined, () => 2, null, Symbol("s")],
      text: "line\nbreak",
      number: i % 3 === 0 ? 1.5e-7 : -0,
    });
  }
  pods.push(
    { when: new Date(0), list: [new Date(1)] }, // toJSON: the general path
    { list: [{ toJSON: (key: string) => `key ${key}` }] },
    [1, 2], // not an object
    Object.assign(Object.create({ inherited: 1 }), { own: 2 }), // not a plain object
    { containers: [] },
    {},
  );
  const encoder = new PolicyInitdataEncoder(tricky);
  for (const data of [...pods, ...pods]) {
    const text = renderPolicyText(tricky, data);
    const expected = encodeInitdataToml({ "policy.rego": text });
    const got = encoder.encode(data);
    assert.deepEqual(got.toml, expected, JSON.stringify(data));
    assert.deepEqual(got.policyTextSize, measurePolicyText(text));
    assert.deepEqual((await decodeInitdataAnnotation(got.annotation)).bytes, expected);
  }
});
