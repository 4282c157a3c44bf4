import assert from "node:assert/strict";
import {
  allowedCpus,
  checkNice,
  checkPinned,
  checkSplit,
  formatCpuList,
  parseCpuList,
  reniceProcess,
  setAutogroupNice,
  splitCpus,
} from "../../../bench/coordinator/cpu_pinning.ts";

Deno.test("parseCpuList / formatCpuList: kernel CPU lists both ways", () => {
  assert.deepEqual(parseCpuList("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList("1"), [1]);
  assert.deepEqual(parseCpuList("2,0-1,1"), [0, 1, 2]);
  assert.equal(formatCpuList([0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
  assert.equal(formatCpuList([3]), "3");
  for (const bad of ["", "a", "1-", "3-1", "1,,2"]) {
    assert.throws(() => parseCpuList(bad, "--pin-generator"), /--pin-generator/);
  }
});

Deno.test("splitCpus: the Coordinator's half first; one CPU cannot be split", () => {
  assert.deepEqual(splitCpus([0, 1]), { coordinator: [0], generator: [1] });
  assert.deepEqual(splitCpus([4, 2, 3]), { coordinator: [2, 3], generator: [4] });
  assert.throws(() => splitCpus([0]), /at least two CPUs/);
});

Deno.test("checkSplit: disjoint sets of available CPUs only", () => {
  const ok = { coordinator: [0], generator: [1] };
  assert.deepEqual(checkSplit(ok, [0, 1]), ok);
  assert.throws(() => checkSplit({ coordinator: [0], generator: [0] }, [0, 1]), /share CPU 0/);
  assert.throws(
    () => checkSplit({ coordinator: [0], generator: [2] }, [0, 1]),
    /--pin-generator: CPU 2/,
  );
  assert.throws(
    () => checkSplit({ coordinator: [], generator: [1] }, [0, 1]),
    /--pin-coordinator: no CPU/,
  );
});

Deno.test("checkPinned: this process is confined to its allowed CPUs, not to fewer", async () => {
  const mine = await allowedCpus(Deno.pid);
  await checkPinned(Deno.pid, mine);
  if (mine.length > 1) {
    await assert.rejects(checkPinned(Deno.pid, mine.slice(1)), /may run on CPU/);
  }
});

Deno.test("reniceProcess: every thread of a child gets the value; checkNice tells a different one", async () => {
  // In a session of its own (setsid): its autogroup is not this test's.
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), "eval", "await new Promise((r) => setTimeout(r, 30_000))"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    // A positive value needs no privilege.
    await reniceProcess(child.pid, 5);
    await checkNice(child.pid, 5);
    await assert.rejects(checkNice(child.pid, 0), /runs at nice 5, not 0/);
    await assert.rejects(reniceProcess(child.pid, 25), RangeError);
    // Its autogroup (where the kernel has them) too, the old value returned.
    const mine = await Deno.readTextFile("/proc/self/autogroup").catch(() => undefined);
    const before = await setAutogroupNice(child.pid, 3);
    if (before !== undefined) {
      assert.match(await Deno.readTextFile(`/proc/${child.pid}/autogroup`), /nice 3/);
      assert.equal(await setAutogroupNice(child.pid, before), 3);
      // This process's group was not touched.
      assert.equal(await Deno.readTextFile("/proc/self/autogroup"), mine);
    }
    await assert.rejects(setAutogroupNice(child.pid, -21), RangeError);
  } finally {
    child.kill();
    await child.status;
  }
});
