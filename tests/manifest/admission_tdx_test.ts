import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { checkAdmission } from "../../manifest/admission.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { deployment } from "../../testing/simulation/deployment.ts";

const d = await deployment("tdx");

/** The deployment's manifest with its TDX entry pinning `tdAttributes` (16 hex digits). */
function withTdAttributes(tdAttributes: string) {
  return parseManifest(d.manifest((m) => {
    const rv = structuredClone(m.ReferenceValues) as { tdx: Record<string, unknown>[] };
    rv.tdx[0]!.TdAttributes = tdAttributes;
    m.ReferenceValues = rv;
  }));
}

function refusedAt(reason: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof InvalidDocumentError, String(e));
    assert.ok(
      e.issues.some((i) =>
        i.path === "ReferenceValues.tdx[0].TdAttributes" && reason.test(i.reason)
      ),
      JSON.stringify(e.issues),
    );
    return true;
  };
}

Deno.test("TdAttributes with DEBUG or another TD-under-debug bit are refused", () => {
  // Quote byte order: byte 0 holds bits 0–7.
  for (const attributes of ["0100001000000000", "1000001000000000", "8000000000000000"]) {
    assert.throws(
      () => checkAdmission(withTdAttributes(attributes), { update: false }),
      refusedAt(/TD under debug/),
    );
  }
});

Deno.test("TdAttributes with MIGRATABLE are refused", () => {
  // Bit 29 = byte 3, bit 5 (0x20); SEPT_VE_DISABLE (bit 28) is 0x10 in the same byte.
  assert.throws(
    () => checkAdmission(withTdAttributes("0000003000000000"), { update: false }),
    refusedAt(/migratable/),
  );
});

Deno.test("TdAttributes without them are admitted, and so is an entry without TdAttributes", () => {
  checkAdmission(withTdAttributes("0000001000000000"), { update: false });
  checkAdmission(parseManifest(d.manifest()), { update: false });
});
