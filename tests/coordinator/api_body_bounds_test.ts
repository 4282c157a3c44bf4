/**
 * Review (array-element bomb, high): a user-API body is refused by its shape before it is parsed
 * when it holds more array elements than any request needs. A 32 MiB `/manifest` body whose
 * `policies` array held ~11 million empty strings passed the key and depth bounds and cost the
 * Coordinator 2.6 GB of memory and 17 s of CPU in `JSON.parse` and the request parser, before any
 * signature was checked: one unauthenticated request could get an active Coordinator OOM-killed
 * (512 MiB limit), losing its seed until recovery.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import https from "node:https";
import { API_JSON_SHAPE } from "../../coordinator/service.ts";
import { coordinatorTest } from "./coordinator_test_case.ts";

/** POSTs `body` (raw text) over TLS; returns status and answer text. */
function rawPost(address: string, path: string, body: string) {
  const [host, port] = address.split(":");
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = https.request(
      { host, port: Number(port), path, method: "POST", rejectUnauthorized: false, agent: false },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => text += c);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.setHeader("content-type", "application/json");
    req.end(body);
  });
}

function manifestBody(policies: number): string {
  return JSON.stringify({
    manifest: "",
    policies: Array(policies).fill(""),
    previous_transition: "00".repeat(32),
    signature: "",
  });
}

coordinatorTest(
  "an active Coordinator refuses a body of more array elements than a request has, unparsed",
  async (_d, c) => {
    await c.setFirstManifest();
    const limit = API_JSON_SHAPE.maxSeparators;
    // One more element than the bound: refused by the scan, whatever the rest says (before the
    // fix it was parsed and then refused as a stale transition, 409).
    const over = await rawPost(c.userAddress, "/manifest", manifestBody(limit + 2));
    assert.equal(over.status, 400, over.text);
    assert.match(
      over.text,
      new RegExp(`more than ${limit} array elements and object members: refused before parsing`),
    );
    // The mesh API has the same bound (its bodies are limited to 256 KiB, which holds 130,000
    // elements).
    const mesh = await rawPost(
      c.meshAddress,
      "/mesh/certificate",
      `{"nonce":[${Array(limit + 2).fill(0).join(",")}]}`,
    );
    assert.equal(mesh.status, 400, mesh.text);
    assert.match(mesh.text, /array elements and object members: refused before parsing/);
    // A request within the bound is parsed and judged on its content as before.
    const within = await rawPost(c.userAddress, "/manifest", manifestBody(1000));
    assert.equal(within.status, 409, within.text);
    assert.match(within.text, /previous_transition/);
    // The Coordinator still serves.
    assert.equal(c.coordinator.phase, "active");
  },
);
