import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { crlNextUpdate, pcsJsonNextUpdate } from "../../collateral/expiry.ts";
import { conformanceFile, conformanceTest } from "../conformance.ts";

const PHALA = "tdx/v4-phala-b0c06f-uptodate";

conformanceTest("a real Intel PCK CRL expires at its nextUpdate", async () => {
  const body = await Deno.readFile(conformanceFile(`${PHALA}/pck_crl.der`));
  assert.equal(crlNextUpdate(body).toISOString(), "2025-07-19T10:00:35.000Z");
});

conformanceTest("real Intel TCB info and QE identity expire at their nextUpdate", async () => {
  const tcb = await Deno.readFile(conformanceFile(`${PHALA}/tcb_info.json`));
  assert.equal(pcsJsonNextUpdate(tcb).toISOString(), "2025-07-19T10:16:03.000Z");
  const qe = await Deno.readFile(conformanceFile(`${PHALA}/qe_identity.json`));
  assert.ok(pcsJsonNextUpdate(qe) > new Date("2025-06-19T00:00:00Z"));
});

Deno.test("bodies that are not collateral are refused (so they are never cached)", () => {
  const html = new TextEncoder().encode("<html>502 Bad Gateway</html>");
  assert.throws(() => crlNextUpdate(html), ParseError);
  assert.throws(() => pcsJsonNextUpdate(html), ParseError);
  const noDate = new TextEncoder().encode('{"tcbInfo":{"nextUpdate":"soon"}}');
  assert.throws(() => pcsJsonNextUpdate(noDate), /tcbInfo\.nextUpdate/);
  assert.throws(() => pcsJsonNextUpdate(new TextEncoder().encode("[]")), ParseError);
});
