/**
 * Run by `dual_stack_test.ts` as `unshare -n deno run -A bindv6only_scenario.ts`: in a network
 * namespace of its own with `net.ipv6.bindv6only=1`, another process's listener holds
 * `0.0.0.0:PORT`; listening on every address at PORT (the inbound listeners and the admin
 * interface) must fail rather than leave IPv4 to it. Without a foreign listener both families get
 * a socket. Prints one JSON line with what happened.
 *
 * @module
 */
import net from "node:net";
import { listenEverywhere, listenOn } from "../../meshproxy/any_address.ts";
import { serveAdmin } from "../../meshproxy/admin.ts";
import { ProxyMetrics } from "../../meshproxy/metrics.ts";

const PORT = 15100;

async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return "listening";
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  }
}

await Deno.writeTextFile("/proc/sys/net/ipv6/bindv6only", "1");
const up = await new Deno.Command("ip", { args: ["link", "set", "lo", "up"] }).output();
if (!up.success) throw new Error("ip link set lo up failed");

const both = await listenEverywhere(() => net.createServer(), PORT);
const bothLabel = both.label;
await Promise.all(both.servers.map((s) => new Promise((r) => s.close(r))));

const foreign = net.createServer((socket) => socket.end("FOREIGN-PLAINTEXT"));
await listenOn(foreign, PORT, "0.0.0.0");
const inbound = await outcome(async () => {
  const l = await listenEverywhere(() => net.createServer(), PORT);
  await Promise.all(l.servers.map((s) => new Promise((r) => s.close(r))));
});
const admin = await outcome(async () => {
  const server = await serveAdmin("any", PORT, {
    notReadyReason: () => undefined,
    metrics: new ProxyMetrics(),
    listeners: () => [],
  });
  await server.shutdown();
});
foreign.close();
console.log(JSON.stringify({ bothLabel, inbound, admin }));
