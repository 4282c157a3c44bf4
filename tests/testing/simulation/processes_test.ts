import assert from "node:assert/strict";
import {
  initializerArgs,
  initializerEnv,
  runDenoScript,
  simulatedSnpArgs,
} from "../../../testing/simulation/processes.ts";

const VM = {
  authorityDir: "/ws/simulated-snp",
  hostData: Uint8Array.of(0xab, 0xcd),
  measurement: "33".repeat(48),
};

Deno.test("simulated SNP flags name the authority, HOST_DATA and measurement as hex", () => {
  assert.deepEqual(simulatedSnpArgs(VM), [
    "--evidence",
    "simulated-snp",
    "--allow-simulated",
    "--simulated-authority",
    "/ws/simulated-snp",
    "--simulated-host-data",
    "abcd",
    "--simulated-measurement",
    "33".repeat(48),
  ]);
});

Deno.test("initializer flags put TLS config and secrets below the pod folder", () => {
  const args = initializerArgs({
    coordinator: "127.0.0.1:7777",
    outDir: "/ws/pods/web",
    vm: VM,
    deadlineSeconds: 5,
    coordinatorTrust: "{}",
    extraArgs: ["--log-format", "text"],
  });
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(value("--coordinator"), "127.0.0.1:7777");
  assert.equal(value("--tls-config-dir"), "/ws/pods/web/tls-config");
  assert.equal(value("--secrets-dir"), "/ws/pods/web/secrets");
  assert.equal(value("--deadline-seconds"), "5");
  assert.equal(value("--simulated-host-data"), "abcd");
  assert.deepEqual(args.slice(-2), ["--log-format", "text"]);
});

Deno.test("runDenoScript reports the exit code and output of a refused initializer run", async () => {
  const r = await runDenoScript("initializer/main.ts", ["--evidence", "simulated-snp"], Deno.cwd());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /coordinator: required/);
});

Deno.test("the initializer's trust document travels in its environment, as in a pod", () => {
  assert.deepEqual(initializerEnv({ coordinatorTrust: '{"x":1}' }), {
    CONTRAST_COORDINATOR_TRUST: '{"x":1}',
  });
});

Deno.test("runDenoScript passes the given environment to the process", async () => {
  const r = await runDenoScript(
    "initializer/main.ts",
    ["--coordinator", "127.0.0.1:9"],
    Deno.cwd(),
    { CONTRAST_COORDINATOR_TRUST: "not json" },
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /CONTRAST_COORDINATOR_TRUST: not valid JSON/);
});
