import "reflect-metadata";
import assert from "node:assert/strict";
import { withTempDir } from "../helpers/temp_dir.ts";
import { issuePod, meshAuthority, writePodFiles } from "../../bench/meshproxy/credentials.ts";

/** Why this machine cannot run the test, or undefined when it can. */
async function whyNotNetns(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  try {
    const out = await new Deno.Command("unshare", {
      args: ["-n", "iptables-restore", "--version"],
      stdout: "null",
      stderr: "piped",
    }).output();
    return out.success ? undefined : new TextDecoder().decode(out.stderr).trim();
  } catch (error) {
    return (error as Error).message;
  }
}

Deno.test({
  name:
    "transparent mode in a network namespace: mesh clients reach the app, plain ones do not (IPv4 and IPv6)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const why = await whyNotNetns();
    if (why) {
      console.warn(
        `\n!!! SKIPPED transparent-mode netns test: cannot create a network namespace (${why}).` +
          " The iptables rules were NOT applied for real on this machine. !!!\n",
      );
      return;
    }
    await withTempDir(async (dir) => {
      const ca = await meshAuthority();
      await writePodFiles(`${dir}/server`, await issuePod(ca, ["web", "*"]));
      await writePodFiles(`${dir}/client`, await issuePod(ca, ["bot", "*"]));
      const out = await new Deno.Command("unshare", {
        args: [
          "-n",
          Deno.execPath(),
          "run",
          "-A",
          new URL("./netns_scenario.ts", import.meta.url).pathname,
          "parent",
          dir,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.ok(out.success, new TextDecoder().decode(out.stderr) + stdout);
      const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
      assert.equal(r.meshTo8080, "app8080:hi", "a mesh client reaches the app through the proxy");
      assert.ok(
        !r.plainTo8080.includes("app8080"),
        `plain to 8080 must not reach the app: ${r.plainTo8080}`,
      );
      assert.equal(r.plainTo8801, "app8801:hi", "ingress `true` passes 8801 through in plain");
      assert.match(r.plainTo7000, /<ECONNRESET|ECONNREFUSED>/, "an undeclared port is reset");
      assert.equal(r.admin, 200, "the admin port answers from outside");
      assert.equal(r.adminLive, 200, "/live answers from outside");
      // /metrics and /listeners name egress destinations and count connections: loopback only.
      assert.equal(r.adminMetrics, 403, "/metrics is refused to a client in the cluster");
      assert.equal(r.adminListeners, 403, "/listeners is refused to a client in the cluster");
      assert.equal(r.adminMetricsV6, 403, "/metrics is refused over IPv6 too");
      assert.equal(r.adminMetricsFromPod, 200, "the pod's own containers get /metrics");
      // A plain connection made before the rules existed (the app listening before the sidecar
      // ran) is cut once they do, over both families: it must not outlive the proxy's start.
      assert.deepEqual(r.earlyBefore, ["app8080:early1", "app8080:early1"]);
      for (const after of r.earlyAfter) {
        assert.ok(
          !after.includes("app8080"),
          `early plain connection still reaches the app: ${after}`,
        );
      }
      // The same over IPv6 (ip6tables rules, the proxy's listeners on every address).
      assert.equal(r.meshTo8080v6, "app8080:hi", "a mesh client reaches the app over IPv6");
      assert.ok(
        !r.plainTo8080v6.includes("app8080"),
        `plain IPv6 to 8080 must not reach the app: ${r.plainTo8080v6}`,
      );
      assert.equal(r.plainTo8801v6, "app8801:hi", "ingress `true` passes 8801 over IPv6 too");
      assert.match(r.plainTo7000v6, /<ECONNRESET|ECONNREFUSED>/, "undeclared port reset (IPv6)");
      assert.equal(r.adminV6, 200, "the admin port answers over IPv6");
      assert.match(
        r.rules,
        /-A CONTRAST_INBOUND -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 15100/,
      );
      const count = (text: string) =>
        text.split("\n").filter((l) => l.includes("CONTRAST_INBOUND")).length;
      assert.equal(count(r.rulesAgain), count(r.rules), "applying again duplicates nothing");
    });
  },
});
