/**
 * The network checks of rules.rego in the compiled wasm (what `policy check` and the benchmarks
 * evaluate), against the definitions they implement: the MAC address check against its pattern
 * `^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$` (not all zeros) on every single-character edit of a MAC
 * and on seeded random near-MAC strings; interface flags, neighbour states and neighbour flags
 * against their allowed values over every value up to 300 and a few that are not integers.
 * `rego/patterns_test.rego` and `rego/fidelity_test.rego` check the same with `opa test`.
 */
import assert from "node:assert/strict";
import { CompiledRules } from "../../rego/evaluator.ts";
import { SAMPLE_INTERFACE, samplePolicyData } from "../policy/fixtures.ts";
import { seededRandom } from "../../policy/check/random_ids.ts";

const rules = await CompiledRules.load();
const evaluator = await rules.evaluator(await samplePolicyData());

const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const macAllowed = (mac: string) => MAC_PATTERN.test(mac) && mac !== "00:00:00:00:00:00";

const IFACE = SAMPLE_INTERFACE;

function interfaceAllowed(change: Partial<Record<keyof typeof IFACE, unknown>>): boolean {
  return evaluator.decide("UpdateInterfaceRequest", { interface: { ...IFACE, ...change } })
    .allowed;
}

/** Characters that matter to the check: hex digits, their neighbours, JSON's specials. */
const ALPHABET = '0123456789abcdefABCDEFgG/:@`"\\u x\u0000\u00e9\u0660';

/** Every string one substitution, insertion or deletion away from `mac`. */
function singleEdits(mac: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= mac.length; i++) {
    if (i < mac.length) out.push(mac.slice(0, i) + mac.slice(i + 1));
    for (const c of ALPHABET) {
      out.push(mac.slice(0, i) + c + mac.slice(i));
      if (i < mac.length) out.push(mac.slice(0, i) + c + mac.slice(i + 1));
    }
  }
  return out;
}

Deno.test("the MAC address check admits exactly what its pattern admits (single edits of MACs)", () => {
  const seeds = ["ca:26:d9:7d:7d:07", "0A:bC:De:F0:12:3f", "00:00:00:00:00:01"];
  const cases = new Set(seeds.flatMap(singleEdits));
  let admitted = 0;
  for (const mac of cases) {
    const expected = macAllowed(mac);
    if (expected) admitted++;
    assert.equal(interfaceAllowed({ hwAddr: mac }), expected, JSON.stringify(mac));
  }
  assert.ok(admitted > 100, `the edits include valid MACs (${admitted})`);
  assert.ok(cases.size - admitted > 1000, "and many more invalid ones");
});

Deno.test("the MAC address check admits exactly what its pattern admits (random near-MACs)", () => {
  const source = seededRandom(12);
  const rng = () => source.bytes(1)[0] / 256;
  const pick = (s: string) => s[Math.floor(rng() * s.length)];
  let admitted = 0;
  for (let n = 0; n < 2000; n++) {
    // Mostly hex digits and colons in their places, 14 to 20 characters (mostly 17): many land
    // near the format, some in it.
    const length = rng() < 0.6 ? 17 : 14 + Math.floor(rng() * 7);
    let mac = "";
    for (let i = 0; i < length; i++) {
      mac += rng() < 0.9
        ? ((i % 3 === 2) === rng() < 0.95 ? ":" : pick("0123456789abcdef"))
        : pick(ALPHABET);
    }
    const expected = macAllowed(mac);
    if (expected) admitted++;
    assert.equal(interfaceAllowed({ hwAddr: mac }), expected, JSON.stringify(mac));
  }
  assert.ok(admitted > 100 && admitted < 1900, `both verdicts are exercised (${admitted} valid)`);
});

Deno.test("the MAC address check admits exactly what its pattern admits (random parts, quotes, backslashes)", () => {
  // Six parts of 0 to 4 characters joined by colons, many 17 characters long: parts longer than
  // two next to shorter ones, quotes that would end a JSON string early, backslashes that would
  // escape the next part's escape.
  const source = seededRandom(7);
  const rng = () => source.bytes(1)[0] / 256;
  const pick = (s: string) => s[Math.floor(rng() * s.length)];
  const explicit = [
    'ca12345":::::aa:bb',
    "ca\\:z:d9:7d:7d:07",
    "ca:26:d9:7d:7d\\:z",
    'ca":26:d9:7d:7d:0',
  ];
  let admitted = 0;
  let seventeen = 0;
  for (let n = 0; n < 3000; n++) {
    const parts = Array.from({ length: 6 }, () => {
      const length = rng() < 0.75 ? 2 : Math.floor(rng() * 5);
      let p = "";
      for (let i = 0; i < length; i++) {
        p += rng() < 0.9 ? pick("0123456789abcdefABCDEF") : pick('"\\zu:');
      }
      return p;
    });
    const mac = n < explicit.length ? explicit[n] : parts.join(":");
    const expected = macAllowed(mac);
    if (expected) admitted++;
    if (mac.length === 17) seventeen++;
    assert.equal(interfaceAllowed({ hwAddr: mac }), expected, JSON.stringify(mac));
  }
  assert.ok(admitted > 30, `valid MACs among them (${admitted})`);
  assert.ok(
    seventeen - admitted > 300,
    `invalid ones of the right length (${seventeen - admitted})`,
  );
});

Deno.test("interface flags: none or IFF_NOARP only", () => {
  for (let f = 0; f <= 300; f++) {
    assert.equal(interfaceAllowed({ raw_flags: f }), f === 0 || f === 128, `raw_flags ${f}`);
  }
  for (const f of [-128, 128.5, "0", "128", null, true, [128]]) {
    assert.equal(interfaceAllowed({ raw_flags: f }), false, `raw_flags ${JSON.stringify(f)}`);
  }
});

Deno.test("neighbour state NUD_PERMANENT or NUD_REACHABLE; flags none, NTF_PROXY, NTF_ROUTER", () => {
  const neighbour = (state: unknown, flags: unknown) => ({
    toIPAddress: { family: 0, address: "10.244.1.1", mask: "" },
    device: "eth0",
    lladdr: "aa:bb:cc:dd:ee:01",
    state,
    flags,
  });
  const allowed = (...ns: unknown[]) =>
    evaluator.decide("AddARPNeighborsRequest", { neighbors: { ARPNeighbors: ns } }).allowed;
  for (let v = 0; v <= 300; v++) {
    assert.equal(allowed(neighbour(v, 0)), v === 2 || v === 128, `state ${v}`);
    assert.equal(allowed(neighbour(128, v)), [0, 8, 128, 136].includes(v), `flags ${v}`);
  }
  for (const v of [-8, 8.5, "0", "128", null, false, [0]]) {
    assert.equal(allowed(neighbour(v, 0)), false, `state ${JSON.stringify(v)}`);
    assert.equal(allowed(neighbour(128, v)), false, `flags ${JSON.stringify(v)}`);
  }
  assert.equal(allowed(neighbour(128, 0), neighbour(2, 136)), true);
  assert.equal(allowed(neighbour(128, 0), neighbour(2, 1)), false, "every neighbour is checked");
});

Deno.test("absent and mistyped network fields: the verdicts rego/fidelity_test.rego pins", () => {
  const { name: _n, device: _d, IPAddresses: _a, raw_flags: _f, ...bare } = IFACE;
  const { hwAddr: _h, ...noMac } = IFACE;
  const iface = (i: unknown) =>
    evaluator.decide("UpdateInterfaceRequest", { interface: i }).allowed;
  const routes = (...rs: unknown[]) =>
    evaluator.decide("UpdateRoutesRequest", { routes: { Routes: rs } }).allowed;
  const route = {
    dest: "",
    device: "eth0",
    family: 0,
    gateway: "10.244.0.1",
    scope: 0,
    source: "",
  };
  const neighbours = (...ns: unknown[]) =>
    evaluator.decide("AddARPNeighborsRequest", { neighbors: { ARPNeighbors: ns } }).allowed;
  const neighbour = {
    device: "eth0",
    flags: 0,
    lladdr: "00:00:5e:00:53:01",
    state: 128,
    toIPAddress: { address: "10.0.0.1", family: 0, mask: "" },
  };
  const { device: _nd, toIPAddress: _nt, flags: _nf, ...bareNeighbour } = neighbour;
  const { state: _ns, ...noState } = neighbour;
  const allowed: [string, boolean][] = [
    ["interface without name, device, addresses, flags", iface(bare)],
    [
      "address entry without or with a numeric address",
      iface({ ...IFACE, IPAddresses: [{ family: 0 }, { address: 127 }] }),
    ],
    ["name and device of other types", iface({ ...IFACE, name: ["lo"], device: { lo: "lo" } })],
    ["an empty route", routes({})],
    [
      "route fields of other types",
      routes({ device: 1, source: 127, gateway: null, dest: ["::1"] }),
    ],
    ["neighbour without device, address, flags", neighbours(bareNeighbour)],
    [
      "neighbour with a numeric address",
      neighbours({ ...neighbour, toIPAddress: { address: 127 } }),
    ],
  ];
  for (const [what, verdict] of allowed) assert.equal(verdict, true, what);
  const denied: [string, boolean][] = [
    ["an address entry that is not an object", iface({ ...IFACE, IPAddresses: ["10.0.0.1"] })],
    ["no MAC address", iface(noMac)],
    ["a numeric MAC address", iface({ ...IFACE, hwAddr: 12 })],
    ["null flags", iface({ ...IFACE, raw_flags: null })],
    ["name lo", iface({ ...IFACE, name: "lo" })],
    ["device lo", iface({ ...IFACE, device: "lo" })],
    ["a route that is not an object", routes("10.0.0.1")],
    ["a route on lo", routes({ ...route, device: "lo" })],
    ["a loopback gateway", routes({ ...route, gateway: "127.0.0.1" })],
    ["a loopback destination", routes({ ...route, dest: "::1" })],
    // ::1 with an embedded IPv4 tail, which the agent's parser (Rust's Ipv6Addr) reads as ::1
    ["a loopback destination ::0.0.0.1", routes({ ...route, dest: "::0.0.0.1/128" })],
    [
      "a loopback gateway 0:0:0:0:0:0:0.0.0.1",
      routes({ ...route, gateway: "0:0:0:0:0:0:0.0.0.1" }),
    ],
    [
      "a loopback interface address ::0.0.0.1",
      iface({ ...IFACE, IPAddresses: [{ address: "::0.0.0.1", mask: "128", family: 1 }] }),
    ],
    [
      "a loopback neighbour ::0:0.0.0.1",
      neighbours({ ...neighbour, toIPAddress: { address: "::0:0.0.0.1" } }),
    ],
    ["a neighbour that is not an object", neighbours("10.0.0.1")],
    ["a toIPAddress that is not an object", neighbours({ ...neighbour, toIPAddress: "10.0.0.1" })],
    ["a neighbour without state", neighbours(noState)],
    ["null state", neighbours({ ...neighbour, state: null })],
    ["null flags", neighbours({ ...neighbour, flags: null })],
    ["a neighbour on lo", neighbours({ ...neighbour, device: "lo" })],
  ];
  for (const [what, verdict] of denied) assert.equal(verdict, false, what);
});
