/**
 * A Coordinator whose standard error is closed under it (the host's log pipe gone) goes on
 * serving, and says how many batches of log lines it lost: `/metrics` exports
 * `contrast_coordinator_log_batches_dropped_total`, read from the log buffer's count.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import https from "node:https";
import { createWorkspace, workspaceVm } from "../../testing/simulation/workspace.ts";
import { coordinatorProcessArgs } from "../../testing/simulation/processes.ts";

const METRIC = "contrast_coordinator_log_batches_dropped_total";

/** The value of {@link METRIC} in the Coordinator's `/metrics`, or undefined when absent. */
async function droppedBatches(probePort: number): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${probePort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${METRIC} `));
  return line === undefined ? undefined : Number(line.slice(METRIC.length + 1));
}

/** A request to the user API that the Coordinator refuses and logs (an empty `/attest`). */
function refusedRequest(address: string): Promise<number> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const request = https.request(
      { host, port: Number(port), method: "POST", path: "/attest", rejectUnauthorized: false },
      (answer) => {
        answer.resume();
        answer.on("end", () => resolve(answer.statusCode ?? 0));
      },
    );
    request.on("error", reject);
    request.end("{}");
  });
}

async function waitForFile(path: string, child: Deno.ChildProcess): Promise<string> {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 600 && !exited; i++) {
    try {
      return await Deno.readTextFile(path);
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("the Coordinator did not start");
}

Deno.test("Coordinator: log batches lost to a closed stderr are counted in /metrics, serving goes on", async () => {
  const ws = await createWorkspace();
  const readyFile = `${ws.dir}/ready.json`;
  const child = new Deno.Command(Deno.execPath(), {
    args: coordinatorProcessArgs({
      historyDir: `${ws.dir}/history`,
      vm: workspaceVm(ws, ws.deployment.coordinator.digest),
      readyFile,
    }),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const ports = JSON.parse(await waitForFile(readyFile, child));
    const userAddress = `127.0.0.1:${ports.userPort}`;
    assert.equal(await droppedBatches(ports.probePort), 0);

    // The host's end of the pipe goes away: every later write to stderr fails (EPIPE).
    await child.stderr.cancel();
    assert.equal(await refusedRequest(userAddress), 400);
    await new Promise((r) => setTimeout(r, 200)); // past the buffer's 20 ms flush delay
    const dropped = await droppedBatches(ports.probePort);
    assert.ok(dropped !== undefined && dropped >= 1, `${METRIC} is ${dropped}`);

    // Still serving, and still counting.
    assert.equal(await refusedRequest(userAddress), 400);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok((await droppedBatches(ports.probePort))! > dropped!);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await ws.cleanup();
  }
});
