import { strict as assert } from "node:assert";
import { InvalidDocumentError, ParseError } from "../../../util/errors/mod.ts";
import { parseTdxTcbInfoResponse } from "../../../tdx/collateral/tcb_info.ts";
import { parseQeIdentityResponse } from "../../../tdx/collateral/qe_identity.ts";
import { encodeSgxExtensions, parseSgxExtensions } from "../../../tdx/pck/sgx_extensions.ts";
import { SimulatedTdxAuthority } from "../../../testing/tdx/authority.ts";
import { mulberry32 as prng } from "../../../util/random/mulberry32.ts";

function mutate(base: Uint8Array, rand: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  const out = rand() < 0.2 ? base.slice(0, int(base.length)) : base.slice();
  const alphabet = new TextEncoder().encode('{}[]",:0123456789abcdefTX-\\ ');
  for (let k = 1 + int(3); k > 0 && out.length > 0; k--) {
    out[int(out.length)] = rand() < 0.5 ? alphabet[int(alphabet.length)]! : int(256);
  }
  return out;
}

const authority = await SimulatedTdxAuthority.generate();
const collateral = await authority.collateral();

Deno.test("20,000 mutated PCS responses make the collateral parsers throw only typed errors", () => {
  const rand = prng(0x51c);
  let ok = 0;
  for (let i = 0; i < 20_000; i++) {
    const tcb = i % 2 === 0;
    const input = mutate(tcb ? collateral.tcbInfo : collateral.qeIdentity, rand);
    try {
      if (tcb) parseTdxTcbInfoResponse(input);
      else parseQeIdentityResponse(input);
      ok++;
    } catch (e) {
      if (!(e instanceof ParseError || e instanceof InvalidDocumentError)) {
        throw new Error(`input ${i} threw ${e}`, { cause: e });
      }
    }
  }
  assert.ok(ok > 0 && ok < 20_000, `both outcomes exercised: ${ok} parsed`);
});

Deno.test("20,000 mutated SGX extensions make the PCK extension parser throw only ParseError", () => {
  const rand = prng(0x5e7);
  const base = encodeSgxExtensions(authority.platform);
  let ok = 0;
  for (let i = 0; i < 20_000; i++) {
    const input = mutate(base, rand);
    try {
      parseSgxExtensions(input);
      ok++;
    } catch (e) {
      if (!(e instanceof ParseError)) throw new Error(`input ${i} threw ${e}`, { cause: e });
    }
  }
  assert.ok(ok > 0 && ok < 20_000, `both outcomes exercised: ${ok} parsed`);
});
