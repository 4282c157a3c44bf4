import assert from "node:assert/strict";
import { ParseError } from "../../../util/errors/mod.ts";
import {
  CERT_TABLE_GUIDS,
  encodeCertTable,
  findCert,
  MAX_CERT_TABLE_ENTRIES,
  parseCertTable,
} from "../../../snp/abi/cert_table.ts";

Deno.test("a certificate table round-trips and names known GUIDs", () => {
  const blob = encodeCertTable([
    { guid: CERT_TABLE_GUIDS.VCEK, data: new Uint8Array([1, 2, 3]) },
    { guid: CERT_TABLE_GUIDS.ASK, data: new Uint8Array([4]) },
    { guid: CERT_TABLE_GUIDS.ARK, data: new Uint8Array([5, 6]) },
    { guid: "00112233-4455-6677-8899-aabbccddeeff", data: new Uint8Array([7]) },
  ]);
  const entries = parseCertTable(blob);
  assert.deepEqual(entries.map((e) => e.kind), ["VCEK", "ASK", "ARK", "other"]);
  assert.deepEqual(findCert(entries, "VCEK"), new Uint8Array([1, 2, 3]));
  assert.deepEqual(findCert(entries, "ARK"), new Uint8Array([5, 6]));
  assert.equal(findCert(entries, "VLEK"), undefined);
});

Deno.test("stores GUIDs in RFC 4122 byte order", () => {
  const blob = encodeCertTable([{ guid: CERT_TABLE_GUIDS.VCEK, data: new Uint8Array(1) }]);
  assert.deepEqual([...blob.subarray(0, 4)], [0x63, 0xda, 0x75, 0x8d]);
});

Deno.test("rejects a table without a terminating entry", () => {
  const blob = encodeCertTable([{ guid: CERT_TABLE_GUIDS.VCEK, data: new Uint8Array(0) }]);
  assert.throws(() => parseCertTable(blob.subarray(0, 24)), ParseError);
});

Deno.test("rejects an entry pointing past the end of the blob", () => {
  const blob = encodeCertTable([{ guid: CERT_TABLE_GUIDS.VCEK, data: new Uint8Array(4) }]);
  new DataView(blob.buffer).setUint32(20, 5, true);
  assert.throws(
    () => parseCertTable(blob),
    (e: unknown) => e instanceof ParseError && e.field === "auxblob[0]",
  );
});

Deno.test("rejects a GUID that appears twice", () => {
  const blob = encodeCertTable([
    { guid: CERT_TABLE_GUIDS.VCEK, data: new Uint8Array(1) },
    { guid: CERT_TABLE_GUIDS.VCEK, data: new Uint8Array(1) },
  ]);
  assert.throws(
    () => parseCertTable(blob),
    (e: unknown) => e instanceof ParseError && e.field === "auxblob[1].guid",
  );
});

/** A table of `n` entries with distinct GUIDs, each spanning the whole blob, then a terminator. */
function spanningTable(n: number, extra = 0): Uint8Array {
  const blob = new Uint8Array((n + 1) * 24 + extra);
  const view = new DataView(blob.buffer);
  for (let i = 0; i < n; i++) {
    view.setUint32(i * 24, i + 1); // a distinct, non-zero GUID
    view.setUint32(i * 24 + 16, 0, true);
    view.setUint32(i * 24 + 20, blob.length, true);
  }
  return blob;
}

Deno.test("a host's table of many entries is refused after MAX_CERT_TABLE_ENTRIES, none copied", () => {
  // Every entry the host lists used to be copied: 2729 entries spanning a 64 KiB blob cost
  // 11 s and 190 MB before anything was verified (a pod hands its auxblob to the Coordinator).
  assert.equal(parseCertTable(spanningTable(MAX_CERT_TABLE_ENTRIES)).length, 64);
  assert.throws(
    () => parseCertTable(spanningTable(MAX_CERT_TABLE_ENTRIES + 1)),
    (e) =>
      e instanceof ParseError && e.field === `auxblob[${MAX_CERT_TABLE_ENTRIES}]` &&
      /more than 64 entries/.test(e.reason),
  );
  assert.throws(() => parseCertTable(spanningTable(2729, 64 * 1024)), ParseError);
  // Entries are views into the blob; findCert hands out a copy of the one asked for.
  const blob = encodeCertTable([{ guid: CERT_TABLE_GUIDS.VCEK, data: Uint8Array.of(9, 8) }]);
  const [entry] = parseCertTable(blob);
  assert.equal(entry!.data.buffer, blob.buffer);
  const copy = findCert([entry!], "VCEK")!;
  assert.notEqual(copy.buffer, blob.buffer);
  assert.deepEqual(copy, Uint8Array.of(9, 8));
});
