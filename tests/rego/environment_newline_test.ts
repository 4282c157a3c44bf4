/**
 * A service-link variable whose value holds a newline, in the compiled rules: the web container
 * admits the host's service links (`FOO_SERVICE_HOST=10.0.0.1`), but not one variable whose value
 * continues on a second line that reads like another variable (`…\nLD_PRELOAD=/tmp/x.so`), which
 * the service-link pattern refuses. The rules decide all service links with one match over the
 * variables joined by newlines; a newline inside a variable must not pass as a separator.
 */
import assert from "node:assert/strict";
import { CompiledRules } from "../../rego/evaluator.ts";
import { startedSandbox } from "./fixtures.ts";
import { createContainer, hexId } from "./agent_requests.ts";

const rules = await CompiledRules.load();
const SANDBOX = hexId(0xab);
const WEB = hexId(0x03);

/** Whether the web container's request with `extra` variables appended is allowed. */
async function allowedWith(extra: readonly string[]): Promise<boolean> {
  const { ev, data } = await startedSandbox(rules, SANDBOX);
  const web = data.containers.find((c) => c.name === "web")!;
  const req = createContainer(data, web, WEB, SANDBOX);
  // deno-lint-ignore no-explicit-any
  const env = (req as any).OCI.Process.Env as string[];
  env.push(...extra);
  return ev.decide("CreateContainerRequest", req).allowed;
}

Deno.test("service links are admitted; one whose value holds a newline and a second variable is not", async () => {
  assert.equal(await allowedWith([]), true);
  assert.equal(
    await allowedWith(["FOO_SERVICE_HOST=10.0.0.1", "FOO_PORT=tcp://10.0.0.1:80"]),
    true,
  );
  for (
    const extra of [
      ["FOO_SERVICE_HOST=10.0.0.1\nLD_PRELOAD=/tmp/x.so"],
      ["FOO_SERVICE_HOST=10.0.0.1\nBAR_PORT=2"],
      ["FOO_SERVICE_HOST=10.0.0.1", "BAR_PORT=1\nB_PORT=2"],
      ["BAR_PORT=1\nB_PORT=2", "FOO_SERVICE_HOST=10.0.0.1"],
    ]
  ) {
    assert.equal(await allowedWith(extra), false, JSON.stringify(extra));
  }
});
