/**
 * What the two vendor-downtime e2e tests (AMD KDS, `vendor_downtime_test.ts`; Intel PCS,
 * `vendor_downtime_tdx_test.ts`) share: a Coordinator process on the workspace's history, killed
 * and restarted on it as a step says; the CLI pointed at the vendor stand-in with a collateral
 * cache; the files `contrast set` keeps; and the steps both tests take the same way.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type CoordinatorProcess,
  runCli,
  type RunResult,
  startCoordinator,
  type Workspace,
} from "./harness.ts";

/** The CLI with the stand-in's URL and the collateral cache `cacheRoot` (default: the warm one). */
type VendorCli = (args: string[], cacheRoot?: string) => Promise<RunResult>;

/** A workspace's Coordinator process and CLI, both using one vendor stand-in. */
export class DowntimeScene {
  private constructor(
    readonly ws: Workspace,
    /** `contrast ARGS` with the stand-in's URL and a collateral cache. */
    readonly cli: VendorCli,
    /** The running Coordinator (a new process after each restart). */
    public coordinator: CoordinatorProcess,
  ) {}

  /**
   * Starts a Coordinator on `${ws.dir}/history` with `coordinatorArgs`; the CLI gets `cliArgs`
   * (the stand-in's URL) and `--cache-dir` (default `${ws.dir}/cli-cache`).
   */
  static async start(
    ws: Workspace,
    cliArgs: string[],
    coordinatorArgs: string[],
  ): Promise<DowntimeScene> {
    const cli: VendorCli = (args, cacheRoot = `${ws.dir}/cli-cache`) =>
      runCli(ws, [...args, ...cliArgs, "--cache-dir", cacheRoot]);
    return new DowntimeScene(
      ws,
      cli,
      await startCoordinator(ws, `${ws.dir}/history`, coordinatorArgs),
    );
  }

  /** The files `contrast set` keeps in the workspace: root CA, seed shares, manifest. */
  async stored(): Promise<string[]> {
    return await Promise.all(
      ["coordinator-root-ca.pem", "seed-shares.json", "manifest.json"].map((f) =>
        Deno.readTextFile(`${this.ws.dir}/${f}`)
      ),
    );
  }

  /**
   * Kills the Coordinator (SIGKILL), starts a new one on the same history with
   * `coordinatorArgs`, and recovers it with `contrast recover`, which must exit 0.
   */
  async restartAndRecover(coordinatorArgs: string[]): Promise<void> {
    await this.coordinator.stop("SIGKILL");
    this.coordinator = await startCoordinator(
      this.ws,
      `${this.ws.dir}/history`,
      coordinatorArgs,
    );
    const recover = await this.cli(["recover", "-c", this.coordinator.userAddress]);
    assert.equal(recover.code, 0, recover.stderr);
  }

  /** `contrast verify`, then `contrast set` (both must exit 0), then {@link restartAndRecover}. */
  async verifySetRestartRecover(coordinatorArgs: string[]): Promise<void> {
    const verify = await this.cli(["verify", "-c", this.coordinator.userAddress]);
    assert.equal(verify.code, 0, verify.stderr);
    const set = await this.cli(["set", "-c", this.coordinator.userAddress, this.ws.yamlPath]);
    assert.equal(set.code, 0, set.stderr);
    await this.restartAndRecover(coordinatorArgs);
  }

  /**
   * Exports the warm CLI cache as an offline bundle (`contrast collateral export`, must exit 0)
   * and returns its folder, `${ws.dir}/bundle`.
   */
  async exportBundle(): Promise<string> {
    const bundle = `${this.ws.dir}/bundle`;
    const exported = await runCli(this.ws, [
      "collateral",
      "export",
      "--cache-dir",
      `${this.ws.dir}/cli-cache`,
      "--out",
      bundle,
    ]);
    assert.equal(exported.code, 0, exported.stderr);
    return bundle;
  }

  /**
   * `contrast verify` from the warm cache exits 0; from an empty one (`${ws.dir}/empty-2`) it
   * exits 3 naming `url`.
   */
  async warmVerifiesColdFailsNaming(url: RegExp): Promise<void> {
    const warm = await this.cli(["verify", "-c", this.coordinator.userAddress]);
    assert.equal(warm.code, 0, warm.stderr);
    const cold = await this.cli(
      ["verify", "-c", this.coordinator.userAddress],
      `${this.ws.dir}/empty-2`,
    );
    assert.equal(cold.code, 3, cold.stderr);
    assert.match(cold.stderr, url);
  }

  /**
   * With empty caches, `verify`, `set` and `recover` each exit 3 naming `url` and the stand-in's
   * 503 asking to retry after 3600 s; the files `contrast set` keeps are unchanged.
   */
  async emptyCachesFailNaming(url: RegExp): Promise<void> {
    const kept = await this.stored();
    for (const command of [["verify"], ["set"], ["recover"]]) {
      const args = [...command, "-c", this.coordinator.userAddress];
      if (command[0] === "set") args.push(this.ws.yamlPath);
      const r = await this.cli(args, `${this.ws.dir}/empty-${command[0]}`);
      assert.equal(r.code, 3, `${command[0]}: ${r.stderr}`);
      assert.match(r.stderr, url);
      assert.match(r.stderr, /HTTP 503: server asks to retry after 3600 s/);
    }
    assert.deepEqual(await this.stored(), kept);
  }
}
