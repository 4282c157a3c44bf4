/**
 * Masked and read-only paths, in the compiled rules. The agent masks them after the container's
 * mounts and after pivoting into its root (rustjail `finish_rootfs`), so a path the runtime never
 * sends would hide a volume (the Initializer's `/contrast`) or blank a file of the pinned image.
 * Only the expected paths and the runtime's own extras (containerd 2's
 * `/sys/devices/virtual/powercap`) are admitted.
 */
import assert from "node:assert/strict";
import { CompiledRules } from "../../rego/evaluator.ts";
import { startedSandbox } from "./fixtures.ts";
import { createContainer, hexId } from "./agent_requests.ts";

const rules = await CompiledRules.load();
const SANDBOX = hexId(0xab);
const WEB = hexId(0x03);

type Paths = (sent: string[]) => string[];

/** Whether the web container's request with its masked and read-only paths changed is allowed. */
async function allowedWith(masked: Paths, readonly: Paths = (p) => p): Promise<boolean> {
  const { ev, data } = await startedSandbox(rules, SANDBOX);
  const web = data.containers.find((c) => c.name === "web")!;
  const req = createContainer(data, web, WEB, SANDBOX);
  // deno-lint-ignore no-explicit-any
  const linux = (req as any).OCI.Linux as { MaskedPaths: string[]; ReadonlyPaths: string[] };
  linux.MaskedPaths = masked(linux.MaskedPaths);
  linux.ReadonlyPaths = readonly(linux.ReadonlyPaths);
  return ev.decide("CreateContainerRequest", req).allowed;
}

Deno.test("the expected paths, in any order, and the runtime's powercap are admitted", async () => {
  assert.equal(await allowedWith((p) => p), true);
  assert.equal(await allowedWith((p) => [...p, "/sys/devices/virtual/powercap"]), true);
  assert.equal(await allowedWith((p) => ["/sys/devices/virtual/powercap", ...p].reverse()), true);
});

Deno.test("an extra masked path (a volume, an image file) is refused", async () => {
  for (
    const extra of [
      "/contrast",
      "/contrast/tls-config/key.pem",
      "/etc/ssl/certs/ca-certificates.crt",
      "/proc/self/root/contrast",
      "/proc/tampered",
    ]
  ) {
    assert.equal(await allowedWith((p) => [...p, extra]), false, extra);
    assert.equal(await allowedWith((p) => [extra, ...p]), false, extra);
  }
});

Deno.test("an extra read-only path is refused, a missing one too", async () => {
  assert.equal(await allowedWith((p) => p, (p) => [...p, "/contrast"]), false);
  assert.equal(await allowedWith((p) => p, (p) => p.slice(1)), false);
  assert.equal(await allowedWith((p) => p.slice(1)), false);
});
