import { strict as assert } from "node:assert";
import { ParseError } from "../../../util/errors/mod.ts";
import { parseTdxQuote } from "../../../tdx/quote/parse_quote.ts";
import { SimulatedTdxAuthority } from "../../../testing/tdx/authority.ts";
import { conformanceAvailable, readConformance } from "../../conformance.ts";
import { mulberry32 as prng } from "../../../util/random/mulberry32.ts";

// Offsets of length and type fields (v4 layout), where mutations are most interesting.
const FIELDS = [0, 2, 4, 48, 50, 632, 633, 634, 635, 764, 766, 1150, 1214, 1216, 1248, 1250];

Deno.test("100,000 random and mutated inputs make the quote parser throw only ParseError", async () => {
  const authority = await SimulatedTdxAuthority.generate();
  const seeds: Uint8Array[] = [
    await authority.createQuote({ reportData: new Uint8Array(64) }),
    await authority.createQuote({ reportData: new Uint8Array(64), version: 5 }),
  ];
  if (conformanceAvailable) {
    for (
      const d of [
        "v4-gotdx-spr-50806f",
        "v4-phala-b0c06f-uptodate",
        "v5-phala-90c06f-tcb-not-supported",
      ]
    ) {
      seeds.push(await readConformance(`tdx/${d}/quote.bin`));
    }
  }
  const rand = prng(0x7d3c);
  const int = (n: number) => Math.floor(rand() * n);
  let parsed = 0;
  let rejected = 0;
  for (let i = 0; i < 100_000; i++) {
    const base = seeds[int(seeds.length)]!;
    let input: Uint8Array;
    switch (i % 6) {
      case 0: { // pure random bytes
        input = new Uint8Array(int(1400));
        for (let j = 0; j < input.length; j++) input[j] = int(256);
        if (input.length >= 8 && rand() < 0.5) input.set([4 + int(2), 0, 2, 0, 0x81, 0, 0, 0]);
        break;
      }
      case 1: // truncation
        input = base.slice(0, int(base.length));
        break;
      case 2: { // a few flipped bytes anywhere
        input = base.slice();
        for (let k = 1 + int(4); k > 0; k--) input[int(input.length)] ^= 1 << int(8);
        break;
      }
      case 3: { // a length or type field set to an extreme or random value
        input = base.slice();
        const at = FIELDS[int(FIELDS.length)]!;
        const v = [0, 0xff, 0x7f, int(256)][int(4)]!;
        for (let k = 0; k < 1 + int(4) && at + k < input.length; k++) input[at + k] = v;
        break;
      }
      case 4: { // random garbage spliced in
        input = base.slice();
        const at = int(input.length);
        for (let k = 0; k < int(64) && at + k < input.length; k++) input[at + k] = int(256);
        break;
      }
      default: { // extended with garbage, or a piece cut out of the middle
        if (rand() < 0.5) {
          input = new Uint8Array(base.length + int(200));
          input.set(base);
          for (let k = base.length; k < input.length; k++) input[k] = int(256);
        } else {
          const a = int(base.length);
          const b = a + int(base.length - a);
          input = new Uint8Array(base.length - (b - a));
          input.set(base.subarray(0, a));
          input.set(base.subarray(b), a);
        }
      }
    }
    try {
      const q = parseTdxQuote(input);
      assert.equal(q.structureLength + q.trailingBytes, input.length);
      parsed++;
    } catch (e) {
      if (!(e instanceof ParseError)) throw new Error(`input ${i} threw ${e}`, { cause: e });
      assert.ok(e.field.length > 0, `input ${i}: ParseError without a field`);
      rejected++;
    }
  }
  assert.equal(parsed + rejected, 100_000);
  assert.ok(parsed > 1000 && rejected > 1000, `both outcomes exercised: ${parsed}/${rejected}`);
});
