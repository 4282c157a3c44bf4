/**
 * The Coordinator's `--vendor-lookup-burst` and `--vendor-lookups-per-minute` (defaults 4 and 6,
 * or `CONTRAST_VENDOR_LOOKUP_BURST` / `CONTRAST_VENDOR_LOOKUPS_PER_MINUTE`): positive integers only.
 */
import assert from "node:assert/strict";
import { CommanderError } from "commander";
import { coordinatorProgram, vendorLookupBudgetFromOptions } from "../../coordinator/main.ts";
import { DEFAULT_VENDOR_LOOKUP_BUDGET } from "../../collateral/lookup_budget.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { withEnvCleared } from "../helpers/env_cleared.ts";

const parse = (args: string[]) =>
  vendorLookupBudgetFromOptions(coordinatorProgram().parse(args, { from: "user" }).opts());

Deno.test("Coordinator: vendor lookup budget from flags, else the environment, else the defaults", () => {
  withEnvCleared(["CONTRAST_VENDOR_LOOKUP_BURST", "CONTRAST_VENDOR_LOOKUPS_PER_MINUTE"], () => {
    assert.deepEqual(parse([]), {
      burst: DEFAULT_VENDOR_LOOKUP_BUDGET.burst,
      perMinute: DEFAULT_VENDOR_LOOKUP_BUDGET.perMinute,
    });
    assert.deepEqual(
      parse(["--vendor-lookup-burst", "2", "--vendor-lookups-per-minute", "30"]),
      { burst: 2, perMinute: 30 },
    );
    for (const bad of ["0", "-1", "1.5", "x", ""]) {
      assert.throws(() => parse(["--vendor-lookup-burst", bad]), CommanderError, bad);
      assert.throws(() => parse(["--vendor-lookups-per-minute", bad]), CommanderError, bad);
    }
    Deno.env.set("CONTRAST_VENDOR_LOOKUP_BURST", "8");
    assert.equal(parse([]).burst, 8);
    Deno.env.set("CONTRAST_VENDOR_LOOKUPS_PER_MINUTE", "often");
    assert.throws(
      () => parse([]),
      (e: unknown) => e instanceof ParseError && e.field === "vendor-lookups-per-minute",
    );
  });
});
