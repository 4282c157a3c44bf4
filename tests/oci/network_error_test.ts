import assert from "node:assert/strict";
import { describeFailure } from "../../oci/network_error.ts";

Deno.test("describes a network error with its chain of causes", () => {
  const inner = new Error("invalid peer certificate: UnknownIssuer");
  const outer = new TypeError("fetch failed", { cause: inner });
  assert.equal(describeFailure(outer), "fetch failed: invalid peer certificate: UnknownIssuer");
  assert.equal(describeFailure("plain"), "plain");
});
