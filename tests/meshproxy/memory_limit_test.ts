/**
 * The cgroup memory limit and the connection cap it allows: parsing `memory.max` (a number,
 * `max`, garbage, a missing file) and the default cap taking the smaller of the descriptor and
 * memory caps, an explicit `maxConnections` winning over both. Unit level: no proxy runs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { withTempDir } from "../helpers/temp_dir.ts";
import { listenerLimits } from "../../meshproxy/limits.ts";
import {
  BYTES_PER_CONNECTION,
  CONNECTION_MEMORY_SHARE,
  memoryConnectionCap,
  parseMemoryLimitEnv,
  parseMemoryMax,
  readCgroupMemoryMax,
  readMemoryLimit,
} from "../../meshproxy/memory_limit.ts";

const MiB = 1024 * 1024;
const CGROUP_FILE = "/sys/fs/cgroup/memory.max";

Deno.test("memory.max: a number of bytes, max, a missing file", () => {
  assert.deepEqual(parseMemoryMax("536870912\n"), {
    kind: "limited",
    bytes: 512 * MiB,
    source: CGROUP_FILE,
  });
  assert.deepEqual(parseMemoryMax("max\n"), { kind: "unlimited" });
  assert.deepEqual(parseMemoryMax(undefined), { kind: "absent" });
});

Deno.test("memory.max: garbage is unreadable, naming the file and the value", () => {
  for (const text of ["", "512M", "-1", "1.5e9", "max max", "0", "99999999999999999999"]) {
    const limit = parseMemoryMax(text);
    assert.equal(limit.kind, "unreadable", text);
    assert.match((limit as { reason: string }).reason, /\/sys\/fs\/cgroup\/memory\.max/);
  }
  assert.match(
    (parseMemoryMax("512M") as { reason: string }).reason,
    /expected "max" or a number of bytes, got "512M"/,
  );
});

Deno.test("memory cap: half the limit at the measured cost per connection, split by listener", () => {
  const limit = { kind: "limited", bytes: 512 * MiB } as const;
  const one = Math.floor(512 * MiB * CONNECTION_MEMORY_SHARE / BYTES_PER_CONNECTION);
  assert.equal(one, 2064);
  assert.equal(memoryConnectionCap(limit, 1), one);
  assert.equal(memoryConnectionCap(limit, 2), 1032);
  assert.equal(memoryConnectionCap({ kind: "limited", bytes: 1000 }, 3), 1); // never 0
  assert.equal(memoryConnectionCap({ kind: "unlimited" }, 1), undefined);
  assert.equal(memoryConnectionCap({ kind: "absent" }, 1), undefined);
  assert.equal(memoryConnectionCap({ kind: "unreadable", reason: "x" }, 1), undefined);
});

Deno.test("limits: the default cap is the smaller of the descriptor and memory caps", () => {
  const small = parseMemoryMax(String(512 * MiB));
  assert.equal(listenerLimits({}, 1, small).maxConnections, 2064);
  assert.equal(listenerLimits({}, 1, small).maxHandshakes, 516); // a quarter of the cap
  // 8 GiB allows 33037 per listener: the descriptor cap (9872) is the smaller one.
  assert.equal(listenerLimits({}, 1, parseMemoryMax(String(8192 * MiB))).maxConnections, 9872);
  // Unknown memory: the descriptor cap alone (fail-safe fallback for garbage too).
  for (const text of ["max", undefined, "garbage"]) {
    assert.equal(listenerLimits({}, 1, parseMemoryMax(text)).maxConnections, 9872);
  }
  assert.equal(listenerLimits({}, 1).maxConnections, 9872);
  // An explicit maxConnections wins, above the memory cap too.
  assert.equal(listenerLimits({ maxConnections: 5000 }, 1, small).maxConnections, 5000);
});

Deno.test("readCgroupMemoryMax: reads the file, a missing one is absent", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/memory.max`;
    assert.deepEqual(await readCgroupMemoryMax(path), { kind: "absent" });
    await Deno.writeTextFile(path, "1073741824\n");
    assert.deepEqual(await readCgroupMemoryMax(path), {
      kind: "limited",
      bytes: 1024 * MiB,
      source: CGROUP_FILE,
    });
    await Deno.writeTextFile(path, "max\n");
    assert.deepEqual(await readCgroupMemoryMax(path), { kind: "unlimited" });
    // A directory in its place cannot be read: unreadable, not thrown.
    await Deno.remove(path);
    await Deno.mkdir(path);
    assert.equal((await readCgroupMemoryMax(path)).kind, "unreadable");
  });
});

Deno.test("with the image's narrowed permissions memory.max is unreadable, and the reason says why", () =>
  withTempDir(async (dir) => {
    const module = new URL("../../meshproxy/memory_limit.ts", import.meta.url).href;
    const script = `${dir}/read.ts`;
    await Deno.writeTextFile(
      script,
      `import { readCgroupMemoryMax } from ${JSON.stringify(module)};\n` +
        "console.log(JSON.stringify(await readCgroupMemoryMax()));\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        // What the image grants, plus read of the file itself: Deno still needs --allow-all below
        // /sys (and refuses before it looks whether the file exists).
        "--allow-read=/sys/fs/cgroup/memory.max",
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const limit = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(limit.kind, "unreadable");
    assert.match(limit.reason, /needs --allow-all.*CONTRAST_MESH_MEMORY_LIMIT.*maxConnections/);
  }));

Deno.test("CONTRAST_MESH_MEMORY_LIMIT: the kubelet's number of bytes; unset is absent; garbage is unreadable naming it", () => {
  assert.deepEqual(parseMemoryLimitEnv("536870912"), {
    kind: "limited",
    bytes: 512 * MiB,
    source: "CONTRAST_MESH_MEMORY_LIMIT",
  });
  assert.deepEqual(parseMemoryLimitEnv(undefined), { kind: "absent" });
  assert.deepEqual(parseMemoryLimitEnv(""), { kind: "absent" });
  for (const text of ["512Mi", " 1", "-1", "0", "1e9", "99999999999999999999", "max"]) {
    const limit = parseMemoryLimitEnv(text);
    assert.equal(limit.kind, "unreadable", text);
    assert.match((limit as { reason: string }).reason, /^CONTRAST_MESH_MEMORY_LIMIT: /);
  }
});

Deno.test("the proxy's cap from CONTRAST_MESH_MEMORY_LIMIT: a sidecar limit, and node allocatable when it has none", () => {
  // limits.memory: 512Mi on the sidecar: half of it at 130 KB per connection, one listener.
  assert.equal(listenerLimits({}, 1, parseMemoryLimitEnv(String(512 * MiB))).maxConnections, 2064);
  assert.equal(listenerLimits({}, 2, parseMemoryLimitEnv(String(512 * MiB))).maxConnections, 1032);
  // No limit on the sidecar: the kubelet writes the node's allocatable memory (here 7.5 GiB, a
  // small node): the memory cap (30973) is computed all the same, the descriptor cap is smaller.
  const allocatable = parseMemoryLimitEnv(String(7680 * MiB));
  assert.equal(memoryConnectionCap(allocatable, 1), 30973);
  assert.equal(listenerLimits({}, 1, allocatable).maxConnections, 9872);
  // A node with 1 GiB allocatable to a pod with five listeners: the memory cap applies.
  assert.equal(listenerLimits({}, 5, parseMemoryLimitEnv(String(1024 * MiB))).maxConnections, 825);
});

Deno.test("readMemoryLimit: the variable, else memory.max; the smaller of both; garbage falls back", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/memory.max`;
    const fromEnv = { kind: "limited", bytes: 512 * MiB, source: "CONTRAST_MESH_MEMORY_LIMIT" };
    // No file (or an unreadable one, as in the image): the variable alone.
    assert.deepEqual(await readMemoryLimit(String(512 * MiB), path), fromEnv);
    await Deno.writeTextFile(path, "max\n");
    assert.deepEqual(await readMemoryLimit(String(512 * MiB), path), fromEnv);
    await Deno.writeTextFile(path, String(256 * MiB));
    assert.deepEqual(await readMemoryLimit(String(512 * MiB), path), {
      kind: "limited",
      bytes: 256 * MiB,
      source: CGROUP_FILE,
    });
    await Deno.writeTextFile(path, String(1024 * MiB));
    assert.deepEqual(await readMemoryLimit(String(512 * MiB), path), fromEnv);
    // Unset: memory.max as before; unusable: memory.max when it gives a limit, else both reasons.
    assert.equal((await readMemoryLimit(undefined, path) as { bytes: number }).bytes, 1024 * MiB);
    assert.equal((await readMemoryLimit("lots", path) as { bytes: number }).bytes, 1024 * MiB);
    await Deno.writeTextFile(path, "max\n");
    assert.deepEqual(await readMemoryLimit(undefined, path), { kind: "unlimited" });
    const both = await readMemoryLimit("lots", path);
    assert.equal(both.kind, "unreadable");
    assert.match(
      (both as { reason: string }).reason,
      /CONTRAST_MESH_MEMORY_LIMIT: .*"lots".*: unlimited/,
    );
  });
});

Deno.test("with the image's narrowed permissions the memory limit comes from CONTRAST_MESH_MEMORY_LIMIT", () =>
  withTempDir(async (dir) => {
    const module = new URL("../../meshproxy/memory_limit.ts", import.meta.url).href;
    const script = `${dir}/read.ts`;
    await Deno.writeTextFile(
      script,
      `import { readMemoryLimit } from ${JSON.stringify(module)};\n` +
        'console.log(JSON.stringify(await readMemoryLimit(Deno.env.get("CONTRAST_MESH_MEMORY_LIMIT"))));\n',
    );
    const out = await new Deno.Command(Deno.execPath(), {
      // The meshproxy image's kind of permissions: env, no read below /sys.
      args: ["run", "--no-check", "--allow-env", `--allow-read=${dir}`, script],
      env: { CONTRAST_MESH_MEMORY_LIMIT: String(512 * MiB) },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
      kind: "limited",
      bytes: 512 * MiB,
      source: "CONTRAST_MESH_MEMORY_LIMIT",
    });
  }));
