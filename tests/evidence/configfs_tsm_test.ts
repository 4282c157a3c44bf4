import assert from "node:assert/strict";
import { ParseError, UnavailableError, ValidationError } from "../../util/errors/mod.ts";
import { ConfigfsTsm, evidenceFromTsmReport, type TsmFileSystem } from "../../evidence/mod.ts";
import {
  emulatedTsmFileSystem,
  TsmEmulator,
  type TsmProvider,
} from "../../testing/tsm_emulator.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

/** A provider whose "report" is a tag, the privlevel and the inblob, so tests can check binding. */
function echoProvider(name = "sev_guest", floor = 0): TsmProvider & { calls: number } {
  const provider = {
    name,
    privlevelFloor: floor,
    calls: 0,
    produce(inblob: Uint8Array, { privlevel }: { privlevel: number }) {
      provider.calls++;
      const outblob = new Uint8Array(1 + 1 + inblob.length);
      outblob[0] = 0xee;
      outblob[1] = privlevel;
      outblob.set(inblob, 2);
      return Promise.resolve({ outblob, auxblob: new TextEncoder().encode("certificate table") });
    },
  };
  return provider;
}

async function withEmulator(
  provider: TsmProvider,
  fn: (tsm: ConfigfsTsm, root: string) => Promise<void>,
  fs: TsmFileSystem = emulatedTsmFileSystem,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-tsm-" });
  const root = `${dir}/tsm/report`;
  const emulator = new TsmEmulator({ root, provider });
  await emulator.start();
  try {
    await fn(new ConfigfsTsm({ root, fs }), root);
    assert.deepEqual(emulator.errors, []);
  } finally {
    await emulator.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function reportData(seed: number): Uint8Array {
  return Uint8Array.from({ length: 64 }, (_, i) => (seed + i) & 0xff);
}

Deno.test("getReport returns the outblob bound to the inblob, the auxblob and the provider", async () => {
  await withEmulator(echoProvider(), async (tsm, root) => {
    const data = reportData(7);
    const report = await tsm.getReport(data);
    assert.equal(report.provider, "sev_guest");
    assert.equal(report.generation, 1);
    assert.deepEqual(report.outblob.subarray(2), data);
    assert.equal(report.outblob[1], 0);
    assert.equal(new TextDecoder().decode(report.auxblob), "certificate table");
    // The entry directory is removed afterwards.
    assert.deepEqual([...Deno.readDirSync(root)], []);
  });
});

Deno.test("getReport writes privlevel first and counts it in the generation", async () => {
  await withEmulator(echoProvider("sev_guest"), async (tsm) => {
    const report = await tsm.getReport(reportData(1), { privlevel: 2 });
    assert.equal(report.outblob[1], 2);
    assert.equal(report.generation, 2);
  });
});

Deno.test("successive reports each get a fresh entry and their own data", async () => {
  const provider = echoProvider("tdx_guest");
  await withEmulator(provider, async (tsm) => {
    for (let i = 0; i < 3; i++) {
      const data = reportData(i * 10);
      const report = await tsm.getReport(data);
      assert.equal(report.provider, "tdx_guest");
      assert.deepEqual(report.outblob.subarray(2), data);
    }
    assert.equal(provider.calls, 3);
  });
});

Deno.test("concurrent reports do not mix up their data", async () => {
  await withEmulator(echoProvider(), async (tsm) => {
    const inputs = [reportData(1), reportData(2), reportData(3), reportData(4)];
    const reports = await Promise.all(inputs.map((d) => tsm.getReport(d)));
    reports.forEach((r, i) => assert.deepEqual(r.outblob.subarray(2), inputs[i]));
  });
});

Deno.test("a provider without auxblob gives none", async () => {
  const provider: TsmProvider = {
    name: "tdx_guest",
    produce: (inblob) => Promise.resolve({ outblob: inblob.slice() }),
  };
  await withEmulator(provider, async (tsm) => {
    const report = await tsm.getReport(reportData(9));
    assert.equal(report.auxblob, undefined);
  });
});

Deno.test("rejects an inblob that is not 64 bytes", async () => {
  const tsm = new ConfigfsTsm({ root: "/nonexistent" });
  await assert.rejects(tsm.getReport(new Uint8Array(63)), (e) => {
    assert.ok(e instanceof ParseError);
    assert.equal(e.field, "inblob");
    return true;
  });
  await assert.rejects(tsm.getReport(new Uint8Array(65)), ParseError);
});

Deno.test("rejects a privlevel outside 0–3", async () => {
  const tsm = new ConfigfsTsm({ root: "/nonexistent" });
  for (const privlevel of [-1, 4, 1.5]) {
    await assert.rejects(tsm.getReport(reportData(0), { privlevel }), (e) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.field, "privlevel");
      return true;
    });
  }
});

Deno.test("rejects a privlevel below the provider's floor with expected vs actual", async () => {
  await withEmulator(echoProvider("sev_guest", 2), async (tsm) => {
    assert.equal((await tsm.getReport(reportData(0), { privlevel: 3 })).outblob[1], 3);
    await assert.rejects(tsm.getReport(reportData(0), { privlevel: 1 }), (e) => {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.field, "privlevel");
      assert.equal(e.expected, ">= 2");
      assert.equal(e.actual, "1");
      return true;
    });
  }, slowMkdirFs());
});

/** An emulator file system whose mkdir waits until the emulator initialised the entry. */
function slowMkdirFs(): TsmFileSystem {
  return {
    ...emulatedTsmFileSystem,
    async mkdir(path) {
      await Deno.mkdir(path);
      for (let i = 0; i < 500; i++) {
        try {
          await Deno.stat(`${path}/generation`);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 2));
        }
      }
    },
  };
}

Deno.test("reports a missing configfs-tsm root as unavailable, saying what to check", () =>
  withTempDir(async (dir) => {
    const tsm = new ConfigfsTsm({ root: `${dir}/no/such/report` });
    assert.equal(await tsm.available(), false);
    await assert.rejects(tsm.getReport(reportData(0)), (e) => {
      assert.ok(e instanceof UnavailableError);
      assert.equal(e.field, "configfs-tsm");
      assert.match(e.reason, /CONFIG_TSM_REPORTS/);
      return true;
    });
  }));

Deno.test("detects another writer that moved the generation while the report was read", async () => {
  // A racing process writes its own inblob into the entry right after this one read outblob.
  const racing: TsmFileSystem = {
    ...emulatedTsmFileSystem,
    async readFile(path) {
      const data = await Deno.readFile(path);
      if (path.endsWith("/outblob")) {
        await Deno.writeFile(
          path.replace(/outblob$/, "generation"),
          new TextEncoder().encode("2\n"),
        );
      }
      return data;
    },
  };
  await withEmulator(echoProvider(), async (tsm) => {
    await assert.rejects(tsm.getReport(reportData(5)), (e) => {
      assert.ok(e instanceof UnavailableError);
      assert.equal(e.field, "generation");
      assert.match(e.reason, /changed from 1 to 2 while reading: another writer raced/);
      return true;
    });
  }, racing);
});

Deno.test("detects a generation beyond this writer's writes before reading", async () => {
  // Another writer had already written to the entry: generation is ahead of our single write.
  const ahead: TsmFileSystem = {
    ...emulatedTsmFileSystem,
    async readFile(path) {
      if (path.endsWith("/generation")) return new TextEncoder().encode("5\n");
      return await Deno.readFile(path);
    },
  };
  await withEmulator(echoProvider(), async (tsm) => {
    await assert.rejects(tsm.getReport(reportData(5)), /is 5 after 1 write\(s\): another writer/);
  }, ahead);
});

Deno.test("a generation that never settles times out with the attribute named", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/report`);
    // No emulator: nobody answers.
    const tsm = new ConfigfsTsm({
      root: `${dir}/report`,
      fs: emulatedTsmFileSystem,
      settleTimeoutMs: 30,
    });
    await assert.rejects(tsm.getReport(reportData(0)), (e) => {
      assert.ok(e instanceof UnavailableError);
      assert.equal(e.field, "generation");
      return true;
    });
  }));

Deno.test("a failing outblob read is reported naming the attribute", async () => {
  const failing: TsmFileSystem = {
    ...emulatedTsmFileSystem,
    readFile(path) {
      if (path.endsWith("/outblob")) return Promise.reject(new Deno.errors.PermissionDenied("EIO"));
      return Deno.readFile(path);
    },
  };
  await withEmulator(echoProvider(), async (tsm) => {
    await assert.rejects(tsm.getReport(reportData(5)), (e) => {
      assert.ok(e instanceof UnavailableError);
      assert.equal(e.field, "outblob");
      return true;
    });
  }, failing);
});

Deno.test("evidenceFromTsmReport maps sev_guest to SNP with aux and tdx_guest to TDX", () => {
  const outblob = Uint8Array.of(1, 2, 3);
  const auxblob = Uint8Array.of(9);
  const snp = evidenceFromTsmReport({ outblob, auxblob, provider: "sev_guest", generation: 1 });
  assert.deepEqual(snp, { platform: "snp", report: outblob, aux: auxblob });
  const tdx = evidenceFromTsmReport({ outblob, provider: "tdx_guest", generation: 1 });
  assert.deepEqual(tdx, { platform: "tdx", report: outblob });
  assert.throws(
    () => evidenceFromTsmReport({ outblob, provider: "arm_cca_guest", generation: 1 }),
    (e) => e instanceof UnavailableError && e.field === "provider",
  );
});

Deno.test("a report through the emulator becomes SNP evidence end to end", async () => {
  await withEmulator(echoProvider("sev_guest"), async (tsm) => {
    const evidence = evidenceFromTsmReport(await tsm.getReport(reportData(3)));
    assert.equal(evidence.platform, "snp");
    assert.equal(new TextDecoder().decode(evidence.aux), "certificate table");
  });
});

Deno.test("a provider failure surfaces as an unavailable outblob, quickly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "contrast-tsm-" });
  const root = `${dir}/report`;
  const emulator = new TsmEmulator({
    root,
    provider: { name: "sev_guest", produce: () => Promise.reject(new Error("firmware error")) },
  });
  await emulator.start();
  try {
    const tsm = new ConfigfsTsm({ root, fs: emulatedTsmFileSystem, settleTimeoutMs: 3000 });
    await assert.rejects(tsm.getReport(reportData(1)), (e) => {
      assert.ok(e instanceof UnavailableError);
      assert.equal(e.field, "outblob");
      return true;
    });
  } finally {
    await emulator.stop();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(emulator.errors.length, 1);
  assert.match(String(emulator.errors[0]), /firmware error/);
});
