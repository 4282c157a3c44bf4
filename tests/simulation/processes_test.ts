import assert from "node:assert/strict";
import { initializerArgs, runDenoScript, simulatedSnpArgs } from "../../simulation/processes.ts";

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
