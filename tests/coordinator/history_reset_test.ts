/**
 * A Coordinator does not start fresh over a store that lost its latest record but holds a longer
 * history; what one interrupted first set leaves behind (a first transition) does not block it.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { HistoryResetError } from "../../coordinator/history/errors.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { transitionBody } from "../../manifest/hash.ts";
import { sha256 } from "../../util/bytes/mod.ts";
import { deployment } from "./fixture.ts";
import { sharedParts, startOn } from "./replica_fixture.ts";

const d = await deployment();

function start(backend: MemoryHistoryBackend): Promise<Coordinator> {
  return startOn(d, backend, d.coordinator.digest, sharedParts("coordinator"));
}

async function putTransition(backend: MemoryHistoryBackend, previous: Uint8Array) {
  const body = transitionBody(await sha256(crypto.getRandomValues(new Uint8Array(8))), previous);
  const name = await sha256(body);
  await backend.putObject("transitions", encodeHex(name), body);
  return name;
}

Deno.test("first transitions left by interrupted first sets do not block a fresh start", async () => {
  const backend = new MemoryHistoryBackend();
  await putTransition(backend, new Uint8Array(32));
  await putTransition(backend, new Uint8Array(32));
  assert.equal((await start(backend)).phase, "awaiting-manifest");
});

Deno.test("a later transition without a latest record refuses the start", async () => {
  const backend = new MemoryHistoryBackend();
  const first = await putTransition(backend, new Uint8Array(32));
  await putTransition(backend, first);
  await assert.rejects(
    start(backend),
    (e: unknown) =>
      e instanceof HistoryResetError && e.field === "transitions/latest" &&
      /refusing to start fresh/.test(e.message),
  );
});

Deno.test("an unreadable transition without a latest record refuses the start", async () => {
  const backend = new MemoryHistoryBackend();
  await backend.putObject("transitions", "ab".repeat(32), new Uint8Array(3));
  await assert.rejects(start(backend), HistoryResetError);
});
