import assert from "node:assert/strict";
import { ParseError } from "../../../util/errors/mod.ts";
import { CERT_TABLE_GUIDS, encodeCertTable, parseCertTable } from "../../../snp/abi/cert_table.ts";
import { CertTableCache } from "../../../snp/verify/cert_table_cache.ts";

function auxblob(seed: number): Uint8Array {
  const cert = (n: number, fill: number) => new Uint8Array(n).map((_, i) => (i * 31 + fill) & 0xff);
  return encodeCertTable([
    { guid: CERT_TABLE_GUIDS.VCEK, data: cert(1337, seed) },
    { guid: CERT_TABLE_GUIDS.ASK, data: cert(1600, 2) },
    { guid: CERT_TABLE_GUIDS.ARK, data: cert(1650, 3) },
  ]);
}

Deno.test("the same auxblob bytes (another buffer) find the table parsed before", () => {
  const tables = new CertTableCache();
  const aux = auxblob(1);
  const first = tables.table(aux);
  assert.equal(tables.table(aux.slice()), first);
  assert.deepEqual(
    first.entries.map((e) => [e.kind, e.data]),
    parseCertTable(aux).map((e) => [e.kind, e.data]),
  );
});

Deno.test("an auxblob that differs in any one byte never gets the cached table", () => {
  const tables = new CertTableCache();
  const aux = auxblob(1);
  const cached = tables.table(aux);
  for (let i = 0; i < aux.length; i++) {
    const changed = aux.slice();
    changed[i]! ^= 0x01;
    let table;
    try {
      table = tables.table(changed);
    } catch (e) {
      assert.ok(e instanceof ParseError, `byte ${i}: ${e}`); // a broken table header
      continue;
    }
    assert.notEqual(table, cached, `byte ${i}`);
    assert.deepEqual(table.bytes, changed, `byte ${i}`);
    // Found again by its own bytes, and the original still by its own.
    assert.equal(tables.table(changed.slice()), table, `byte ${i}`);
  }
  assert.deepEqual(tables.table(aux).bytes, aux);
});

Deno.test("the table views a private copy: a caller reusing its buffer changes nothing cached", () => {
  const tables = new CertTableCache();
  const aux = auxblob(1);
  const table = tables.table(aux);
  const vcek = table.entries[0]!.data.slice();
  aux.fill(0x55, 100, 200); // the caller writes other evidence into the same buffer
  assert.deepEqual(table.entries[0]!.data, vcek);
  const other = tables.table(aux);
  assert.notEqual(other, table);
  assert.deepEqual(other.bytes, aux);
});

Deno.test("a malformed auxblob is refused every time, and nothing is remembered for it", () => {
  const tables = new CertTableCache();
  const broken = auxblob(1).subarray(0, 40); // cut inside the table: no terminator
  for (let i = 0; i < 2; i++) assert.throws(() => tables.table(broken), ParseError);
});

Deno.test("beyond its bound the cache starts afresh and stays correct", () => {
  const tables = new CertTableCache();
  const first = tables.table(auxblob(0));
  for (let seed = 1; seed <= 70; seed++) {
    const aux = auxblob(seed);
    assert.deepEqual(tables.table(aux).bytes, aux);
  }
  const again = tables.table(auxblob(0));
  assert.deepEqual(again.bytes, first.bytes);
});
