import assert from "node:assert/strict";
import { ParseError } from "../../../util/errors/mod.ts";
import {
  CERT_TABLE_GUIDS,
  encodeCertTable,
  findCert,
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
