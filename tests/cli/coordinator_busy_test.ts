/**
 * `set`, `verify` and `recover` against a busy Coordinator (429: the client's budget of uncached
 * vendor lookups is spent; 503: its vendor lookups at once are taken): exit code 3
 * (unavailable, retryable), one error line that says when to retry as `Retry-After` asks, and
 * the status and seconds in `--json`.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliAgainst } from "../../testing/cli/capture.ts";
import { createWorkspace } from "../../testing/simulation/workspace.ts";
import { ExitCode } from "../../cli/exit_codes.ts";
import { parseResultDocument } from "../../testing/cli/result_schema.ts";
import { retryHint, retryJson } from "../../cli/retry_hint.ts";
import { CoordinatorUnavailableError } from "../../atls/pinned_client.ts";
import { UnavailableError } from "../../util/errors/mod.ts";
import { answeringTlsServer } from "../helpers/answering_tls_server.ts";

/** A TLS server that answers every request with `status`, `Retry-After` and a JSON error. */
function busy(status: number, retryAfter: string | undefined) {
  return answeringTlsServer((res) => {
    res.writeHead(status, {
      "content-type": "application/json",
      ...(retryAfter !== undefined ? { "retry-after": retryAfter } : {}),
    });
    res.end(JSON.stringify({
      error: status === 429
        ? "not requested: client 127.0.0.1 spent its budget of uncached vendor lookups"
        : "not requested: https://kds.example/vcek already in flight (limit 16)",
      field: "https://kds.example/vcek",
    }));
  });
}

Deno.test({
  name: "set, verify and recover: a busy Coordinator is exit 3 with the Retry-After hint",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await createWorkspace();
    const farDate = "Fri, 31 Dec 9999 23:59:59 GMT";
    const cases: [number, string | undefined, RegExp, number | undefined][] = [
      [
        429,
        "10",
        /the Coordinator is busy \(429 Too Many Requests\): retry in 10 s \(its Retry-After\)$/,
        10,
      ],
      [
        503,
        "3",
        /the Coordinator is busy \(503 Service Unavailable\): retry in 3 s \(its Retry-After\)$/,
        3,
      ],
      [
        503,
        farDate,
        /busy \(503 Service Unavailable\): retry after 9999-12-31T23:59:59\.000Z \(its Retry-After\)$/,
        undefined,
      ],
      [
        429,
        "soon",
        /busy \(429 Too Many Requests\): retry later \(it sent no readable Retry-After\)$/,
        undefined,
      ],
      [503, undefined, /busy \(503 Service Unavailable\): retry later/, undefined],
    ];
    try {
      for (const [status, header, hint, seconds] of cases) {
        const server = await busy(status, header);
        try {
          for (const command of [["verify"], ["set", ws.yamlPath], ["recover"]] as const) {
            const what = `${status} ${header} ${command[0]}`;
            const run = await runCliAgainst(server.address, ws.dir, command);
            assert.equal(run.code, ExitCode.Unavailable, `${what}: ${run.stderr}`);
            assert.equal(run.stderr.split("\n").length, 1, what);
            assert.match(run.stderr, new RegExp(`^error: .*coordinator answered ${status}: `));
            assert.match(run.stderr, hint, what);
            const json = await runCliAgainst(server.address, ws.dir, [...command, "--json"]);
            assert.equal(json.code, ExitCode.Unavailable, what);
            // Validated against cli/result.schema.json.
            const doc = parseResultDocument(json.stdout);
            assert.equal(doc.outcome, "unavailable", what);
            assert.equal(doc.error.status, status, what);
            if (seconds !== undefined) assert.equal(doc.error.retryAfterSeconds, seconds, what);
            else if (header !== farDate) assert.equal(doc.error.retryAfterSeconds, undefined, what);
            else assert.ok(doc.error.retryAfterSeconds > 60 * 60 * 24 * 365, what);
          }
        } finally {
          await server.close();
        }
      }
    } finally {
      await ws.cleanup();
    }
  },
});

Deno.test("no retry hint for other errors, nor for other unavailable answers (412)", () => {
  assert.equal(retryHint(new UnavailableError("coordinator", "unreachable")), "");
  assert.equal(
    retryHint(new CoordinatorUnavailableError(412, "coordinator", "no manifest yet")),
    "",
  );
  assert.deepEqual(retryJson(new CoordinatorUnavailableError(412, "c", "no manifest"), 0), {});
  assert.deepEqual(
    retryJson(
      new CoordinatorUnavailableError(503, "c", "busy", {
        kind: "date",
        epochMs: Date.UTC(2026, 0, 1, 0, 0, 1, 500),
      }),
      Date.UTC(2026, 0, 1),
    ),
    { status: 503, retryAfterSeconds: 2 },
  );
});
