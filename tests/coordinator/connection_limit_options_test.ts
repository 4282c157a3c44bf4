/**
 * The Coordinator's `--max-connections` and `--max-connections-per-address` (defaults 1024 and 64,
 * or `CONTRAST_MAX_CONNECTIONS` / `CONTRAST_MAX_CONNECTIONS_PER_ADDRESS`): positive integers only.
 */
import assert from "node:assert/strict";
import { CommanderError } from "commander";
import { connectionLimitsFromOptions, coordinatorProgram } from "../../coordinator/main.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../coordinator/http/connection_limits.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { withEnvCleared } from "../helpers/env_cleared.ts";

const parse = (args: string[]) =>
  connectionLimitsFromOptions(coordinatorProgram().parse(args, { from: "user" }).opts());

Deno.test("Coordinator: connection caps from flags, else the environment, else the defaults", () => {
  withEnvCleared(["CONTRAST_MAX_CONNECTIONS", "CONTRAST_MAX_CONNECTIONS_PER_ADDRESS"], () => {
    assert.deepEqual(parse([]), DEFAULT_CONNECTION_LIMITS);
    const flags = parse(["--max-connections", "10", "--max-connections-per-address", "2"]);
    assert.equal(flags.maxConnections, 10);
    assert.equal(flags.maxConnectionsPerAddress, 2);
    assert.equal(flags.handshakeTimeoutMs, DEFAULT_CONNECTION_LIMITS.handshakeTimeoutMs);
    for (const bad of ["0", "-1", "1.5", "x", ""]) {
      assert.throws(() => parse(["--max-connections", bad]), CommanderError, bad);
    }
    Deno.env.set("CONTRAST_MAX_CONNECTIONS_PER_ADDRESS", "5");
    assert.equal(parse([]).maxConnectionsPerAddress, 5);
    Deno.env.set("CONTRAST_MAX_CONNECTIONS", "lots");
    assert.throws(
      () => parse([]),
      (e: unknown) => e instanceof ParseError && e.field === "max-connections",
    );
  });
});

Deno.test("Coordinator: busy-connection bounds from flags, else the environment, else none", () => {
  withEnvCleared(["CONTRAST_MAX_BUSY_CONNECTIONS", "CONTRAST_MAX_BUSY_PER_ADDRESS"], () => {
    // No bound unless asked for.
    assert.equal(parse([]).maxBusyConnections, undefined);
    assert.equal(parse([]).maxBusyPerAddress, undefined);
    const flags = parse(["--max-busy-connections", "8", "--max-busy-per-address", "3"]);
    assert.equal(flags.maxBusyConnections, 8);
    assert.equal(flags.maxBusyPerAddress, 3);
    for (const bad of ["0", "-1", "1.5", "x", ""]) {
      assert.throws(() => parse(["--max-busy-connections", bad]), CommanderError, bad);
      assert.throws(() => parse(["--max-busy-per-address", bad]), CommanderError, bad);
    }
    Deno.env.set("CONTRAST_MAX_BUSY_PER_ADDRESS", "5");
    assert.equal(parse([]).maxBusyPerAddress, 5);
    Deno.env.set("CONTRAST_MAX_BUSY_CONNECTIONS", "many");
    assert.throws(
      () => parse([]),
      (e: unknown) => e instanceof ParseError && e.field === "max-busy-connections",
    );
  });
});
