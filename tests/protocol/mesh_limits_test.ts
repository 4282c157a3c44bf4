import assert from "node:assert/strict";
import { MeshConfigError, parseMeshLimits } from "../../protocol/mesh_config.ts";

const SRC = "contrast.edgeless.systems/servicemesh-limits";

Deno.test("mesh limits: every key parses; empty means none set", () => {
  assert.deepEqual(parseMeshLimits(undefined, SRC), {});
  assert.deepEqual(parseMeshLimits(" ", SRC), {});
  assert.deepEqual(
    parseMeshLimits(
      "maxConnections=500, maxHandshakes=100,onHandshakeLimit=refuse-new,idleTimeoutSeconds=600," +
        "handshakeTimeoutSeconds=5,maxOpenFiles=4096,adminRemoteAccess=all",
      SRC,
    ),
    {
      maxConnections: 500,
      maxHandshakes: 100,
      onHandshakeLimit: "refuse-new",
      idleTimeoutSeconds: 600,
      handshakeTimeoutSeconds: 5,
      maxOpenFiles: 4096,
      adminRemoteAccess: "all",
    },
  );
});

Deno.test("mesh limits: each malformed entry is a MeshConfigError naming the entry", () => {
  const cases: [string, RegExp][] = [
    ["maxConnections", /entry 1 "maxConnections": expected <key>=<value>/],
    ["=5", /entry 1 "=5": expected <key>=<value>/],
    ["maxConnections=0", /0 is outside 1–1000000/],
    ["maxConnections=1000001", /1000001 is outside 1–1000000/],
    ["maxConnections=012", /"012" is not a decimal number/],
    ["maxConnections=-1", /"-1" is not a decimal number/],
    ["maxConnections=1e3", /"1e3" is not a decimal number/],
    ["maxHandshakes=0", /0 is outside 1–1000000/],
    ["idleTimeoutSeconds=0", /0 is outside 1–2000000/],
    ["idleTimeoutSeconds=2000001", /2000001 is outside 1–2000000/],
    ["handshakeTimeoutSeconds=61", /61 is outside 1–60/],
    ["maxOpenFiles=511", /511 is outside 512–1000000/],
    ["onHandshakeLimit=drop", /"drop" must be "close-oldest" or "refuse-new"/],
    ["adminRemoteAccess=metrics", /"metrics" must be "probes" or "all"/],
    ["maxConections=5", /unknown key "maxConections"/],
    [
      "maxConnections=5,maxConnections=6",
      /entry 2 "maxConnections=6": "maxConnections" is set twice/,
    ],
    ["maxConnections=5,", /entry 2 "": expected <key>=<value>/],
    ["maxConnections=5,maxHandshakes=6", /maxHandshakes 6 exceeds maxConnections 5/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(() => parseMeshLimits(value, SRC), (e: unknown) => {
      assert.ok(e instanceof MeshConfigError, String(e));
      assert.ok(e.field.startsWith(SRC), e.field);
      assert.match(e.message, pattern);
      return true;
    }, value);
  }
});
