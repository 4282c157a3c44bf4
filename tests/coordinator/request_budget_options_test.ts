/**
 * The Coordinator's `--client-request-burst` and `--client-requests-per-minute` (defaults 256 and
 * 600, or `CONTRAST_CLIENT_REQUEST_BURST` / `CONTRAST_CLIENT_REQUESTS_PER_MINUTE`): positive
 * integers only.
 */
import assert from "node:assert/strict";
import { CommanderError } from "commander";
import { coordinatorProgram, requestBudgetFromOptions } from "../../coordinator/main.ts";
import { DEFAULT_REQUEST_BUDGET } from "../../coordinator/http/request_budget.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { withEnvCleared } from "../helpers/env_cleared.ts";

const parse = (args: string[]) =>
  requestBudgetFromOptions(coordinatorProgram().parse(args, { from: "user" }).opts());

Deno.test("Coordinator: request budget from flags, else the environment, else the defaults", () => {
  withEnvCleared(["CONTRAST_CLIENT_REQUEST_BURST", "CONTRAST_CLIENT_REQUESTS_PER_MINUTE"], () => {
    assert.deepEqual(parse([]), { burst: 256, perMinute: 600 });
    assert.equal(DEFAULT_REQUEST_BUDGET.burst, 256);
    assert.deepEqual(
      parse(["--client-request-burst", "2", "--client-requests-per-minute", "30"]),
      { burst: 2, perMinute: 30 },
    );
    for (const bad of ["0", "-1", "1.5", "x", ""]) {
      assert.throws(() => parse(["--client-request-burst", bad]), CommanderError, bad);
      assert.throws(() => parse(["--client-requests-per-minute", bad]), CommanderError, bad);
    }
    Deno.env.set("CONTRAST_CLIENT_REQUEST_BURST", "8");
    assert.equal(parse([]).burst, 8);
    Deno.env.set("CONTRAST_CLIENT_REQUESTS_PER_MINUTE", "often");
    assert.throws(
      () => parse([]),
      (e: unknown) => e instanceof ParseError && e.field === "client-requests-per-minute",
    );
  });
});
