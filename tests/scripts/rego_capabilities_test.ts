/**
 * The rules use only builtins of the Kata agent's Rego engine (regorus at Kata's pinned commit
 * with Kata's features): `opa check --capabilities rego/capabilities/kata-regorus.json` passes on
 * rules.rego and fails on a copy that calls `crypto.sha256`; the capabilities file records its
 * derivation; the derivation's cfg handling is exact on small inputs.
 */
import assert from "node:assert/strict";
import { checkCapabilities, KATA_CAPABILITIES } from "../../scripts/build_rego.ts";
import {
  cfgEnabled,
  KATA_REGORUS_COMMIT,
  KATA_REGORUS_FEATURES,
  registrations,
} from "../../scripts/regorus_capabilities.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const RULES = new URL("../../rego/rules.rego", import.meta.url);

Deno.test("rules.rego passes opa check against the Kata agent's capabilities", async () => {
  const result = await checkCapabilities(RULES.pathname);
  assert.ok(result.ok, result.output);
});

Deno.test("a copy of the rules calling crypto.sha256 fails the capabilities check", () =>
  withTempDir(async (dir) => {
    const rules = await Deno.readTextFile(RULES);
    const copy = `${dir}/rules.rego`;
    await Deno.writeTextFile(
      copy,
      `${rules}\nhashed_env(v) := crypto.sha256(v)\n`,
    );
    const result = await checkCapabilities(copy);
    assert.equal(result.ok, false);
    assert.match(result.output, /undefined function crypto\.sha256/);
  }));

Deno.test("the capabilities file is regorus at Kata's commit with Kata's features, no crypto", async () => {
  const caps = JSON.parse(await Deno.readTextFile(KATA_CAPABILITIES)) as {
    builtins: { name: string }[];
    regorus: { commit: string; features: string[]; registered: string[] };
  };
  assert.equal(caps.regorus.commit, KATA_REGORUS_COMMIT);
  assert.deepEqual(caps.regorus.features, [...KATA_REGORUS_FEATURES]);
  const names = caps.builtins.map((b) => b.name);
  assert.ok(names.every((n) => !n.startsWith("crypto.")), "no crypto builtins");
  for (const used of ["object.get", "object.keys", "array.concat", "bits.and", "regex.match"]) {
    assert.ok(names.includes(used), used);
  }
  // Features Kata leaves off are absent: time, net, glob, uuid, semver, hex, yaml, urlquery.
  for (const absent of ["time.now_ns", "net.cidr_contains", "glob.match", "uuid.rfc4122"]) {
    assert.ok(!names.includes(absent), absent);
  }
});

Deno.test("derivation: cfg predicates and blocks behind disabled features", () => {
  const on = new Set(["base64", "std"]);
  assert.equal(cfgEnabled(`feature = "base64"`, on), true);
  assert.equal(cfgEnabled(`feature = "hex"`, on), false);
  assert.equal(cfgEnabled(`any(feature = "hex", feature = "std")`, on), true);
  assert.equal(cfgEnabled(`all(feature = "hex", feature = "std")`, on), false);
  assert.equal(cfgEnabled(`not(feature = "hex")`, on), true);
  assert.equal(cfgEnabled("test", on), false);
  const source = `
pub fn register(m: &mut BuiltinsMap<&'static str, BuiltinFcn>) {
    #[cfg(feature = "base64")]
    {
        m.insert("base64.decode", (base64_decode, 1));
    }
    #[cfg(feature = "hex")]
    {
        m.insert("hex.decode", (hex_decode, 1));
        m.insert("hex.encode", (hex_encode, 1));
    }
    m.insert("json.marshal", (json_marshal, 1));
    #[cfg(feature = "time")]
    m.insert("time.now_ns", (now_ns, 0));
    m.insert("round", (round, 1));
    #[cfg(feature = "regex")]
    regex::register(&mut m);
    strings::register(&mut m);
}`;
  assert.deepEqual(registrations(source, on), {
    inserts: ["base64.decode", "json.marshal", "round"],
    modules: ["strings"],
  });
});
