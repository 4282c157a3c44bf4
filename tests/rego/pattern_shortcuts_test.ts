/**
 * The pattern shortcuts of rules.rego (IDs, shared-file names, ID-suffixed paths and pod UIDs
 * decided by length and character class instead of RE2) in the compiled wasm, through real
 * requests: the legitimate value passes, other legitimate values of the same shape pass, and every
 * near miss is denied. `rego/patterns_test.rego` checks the same shortcuts against `regex.match`.
 */
import assert from "node:assert/strict";
import { CompiledRules, type PolicyEvaluator } from "../../rego/evaluator.ts";
import type { PolicyData } from "../../policy/policy_data_types.ts";
import { samplePolicyData } from "../policy/fixtures.ts";
import { startedSandbox } from "./fixtures.ts";
import { createContainer, createSandbox, hexId } from "./agent_requests.ts";

const rules = await CompiledRules.load();
const SANDBOX = hexId(0xaa);
const WEB = hexId(0x02);

// deno-lint-ignore no-explicit-any
type Req = any;

/** The sample pod's evaluator with its sandbox and pause container admitted. */
function started(): Promise<{ ev: PolicyEvaluator; data: PolicyData }> {
  return startedSandbox(rules, SANDBOX);
}

/** Decides the web container's request after `change`; the unchanged request must pass. */
async function decideWeb(change: (r: Req) => void, cid = WEB): Promise<boolean> {
  const { ev, data } = await started();
  const web = data.containers.find((c) => c.name === "web")!;
  const req = createContainer(data, web, cid, SANDBOX) as Req;
  assert.equal(ev.decide("CreateContainerRequest", req).allowed, true, "unchanged must pass");
  change(req);
  return ev.decide("CreateContainerRequest", req).allowed;
}

const SHARED = "/run/kata-containers/shared/containers/";

function sharedMount(r: Req, suffix: string): { source: string } {
  const m = r.OCI.Mounts.find((m: { source: string }) =>
    m.source.startsWith(SHARED) && m.source.endsWith(suffix)
  );
  assert.ok(m, `the sample pod has a shared ${suffix} mount`);
  return m;
}

Deno.test("shared-file mount sources: any Kata ID and hex of the right shape pass, near misses are denied", async () => {
  const hosts = (r: Req) => sharedMount(r, "-hosts");
  const set = (source: string) => (r: Req) => {
    hosts(r).source = source;
  };
  const id = hexId(0x3c);
  for (const ok of [id, id.slice(1), `${id}a`, id.toUpperCase(), "gid", "a-b.c_d"]) {
    assert.equal(await decideWeb(set(`${SHARED}${ok}-fedcba9876543210-hosts`)), true, ok);
  }
  for (
    const source of [
      `${SHARED}..-fedcba9876543210-hosts`,
      `${SHARED}.a-fedcba9876543210-hosts`,
      `${SHARED}a-fedcba9876543210-hosts`, // one-character ID
      `${SHARED}-fedcba9876543210-hosts`,
      `${SHARED}a/b-fedcba9876543210-hosts`,
      `${SHARED}${id}-fedcba987654321-hosts`, // 15 hex
      `${SHARED}${id}-fedcba9876543210a-hosts`, // 17 hex
      `${SHARED}${id}-FEDCBA9876543210-hosts`,
      `${SHARED}${id}_fedcba9876543210-hosts`,
      `${SHARED}${id}-fedcba9876543210_hosts`,
      `${SHARED}${id}-fedcba9876543210-hostsx`,
      `${SHARED}${id}-fedcba9876543210-host`,
      `${SHARED}${id}-fedcba9876543210-hosts/../x`,
      `/run/kata-containers/shared/container/${id}-fedcba9876543210-hosts`,
      `x${SHARED}${id}-fedcba9876543210-hosts`,
    ]
  ) {
    assert.equal(await decideWeb(set(source)), false, source);
  }
});

Deno.test("a share the host fills may carry another container's ID; the root path may not", async () => {
  // The termination log is a share like /etc/hosts (its content goes to the host): any container's
  // share is accepted, as genpolicy accepts it. The root path is bind-mounted as the root when no
  // guest-pull storage made it: it must name the container itself.
  const { data } = await started();
  const web = data.containers.find((c) => c.name === "web")!;
  assert.ok(!web.mounts.some((m) => m.source_regex.includes("$(cid)")), "no share bound to the ID");
  const other = hexId(0x5e);
  assert.equal(
    await decideWeb((r) => {
      const m = sharedMount(r, "-termination-log");
      m.source = m.source.replace(WEB, other);
    }),
    true,
  );
  assert.equal(
    await decideWeb((r) => {
      r.OCI.Root.Path = `/run/kata-containers/${other}/rootfs`;
    }),
    false,
  );
});

Deno.test("container IDs: what Kata's verify_id accepts, nothing that leaves its directory", async () => {
  const decide = async (cid: string) => {
    const { ev, data } = await started();
    const web = data.containers.find((c) => c.name === "web")!;
    return ev.decide("CreateContainerRequest", createContainer(data, web, cid, SANDBOX)).allowed;
  };
  for (const cid of [WEB.slice(1), `${WEB}0`, hexId(0xab).toUpperCase(), "gid", "a.b-c_d"]) {
    assert.equal(await decide(cid), true, cid);
  }
  for (const cid of ["", "a", ".", "..", ".a", "-a", "_a", "a/b", "../a", "a b", `${WEB}/..`]) {
    assert.equal(await decide(cid), false, cid);
  }
});

Deno.test("the bundle path annotation ends in a Kata container ID", async () => {
  const key = "io.katacontainers.pkg.oci.bundle_path";
  const base = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/";
  const set = (value: string) => (r: Req) => {
    r.OCI.Annotations[key] = value;
  };
  for (const id of [hexId(0x7c), hexId(0x7c).slice(1), "gid"]) {
    assert.equal(await decideWeb(set(`${base}${id}`)), true, id);
  }
  for (
    const value of [
      `${base}${hexId(0x7c)}/`,
      `${base}..`,
      `${base}../x`,
      `${base}a`,
      `${base.replace("k8s.io", "k8sXio")}${hexId(0x7c)}`,
    ]
  ) {
    assert.equal(await decideWeb(set(value)), false, value);
  }
});

Deno.test("the pod UID annotation is a lower-case UUID", async () => {
  const key = "io.kubernetes.cri.sandbox-uid";
  const set = (value: string) => (r: Req) => {
    r.OCI.Annotations[key] = value;
  };
  assert.equal(await decideWeb(set("01234567-89ab-cdef-0123-456789abcdef")), true);
  for (
    const value of [
      "01234567-89AB-cdef-0123-456789abcdef",
      "0123456-789ab-cdef-0123-456789abcdef",
      "01234567-89ab-cdef-0123-456789abcde",
      "01234567-89ab-cdef-0123-456789abcdef0",
      "01234567-89ab-cdef-0123_456789abcdef",
      "01234567-89ab-cdeg-0123-456789abcdef",
    ]
  ) {
    assert.equal(await decideWeb(set(value)), false, value);
  }
});

Deno.test("sandbox IDs: 1 to 128 lower-case alphanumerics", async () => {
  const data = await samplePolicyData();
  const decide = async (id: string) =>
    (await rules.evaluator(data)).decide("CreateSandboxRequest", createSandbox(data, id)).allowed;
  assert.equal(await decide("a".repeat(128)), true);
  assert.equal(await decide("a"), true);
  for (const id of ["a".repeat(129), "", "A".repeat(64), `${"a".repeat(63)}-`]) {
    assert.equal(await decide(id), false, id);
  }
});
