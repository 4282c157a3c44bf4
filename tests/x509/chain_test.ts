import assert from "node:assert/strict";
import "reflect-metadata";
import * as px from "@peculiar/x509";
import { VerificationError } from "../../util/errors/mod.ts";
import { type Certificate, parseCertificate } from "../../x509/certificate.ts";
import {
  MAX_PATH_SIGNATURE_CHECKS,
  verifyChain,
  type VerifyChainOptions,
} from "../../x509/chain.ts";
import { ChainCache } from "../../x509/chain_cache.ts";
import { type Crl } from "../../x509/crl.ts";
import { conformanceTest } from "../conformance.ts";
import {
  FROM,
  issue,
  type Issued,
  type IssueOptions,
  lookAlikeFanOut,
  makeCrl,
  makeKeys,
  makeRoot,
  UNTIL,
} from "./pki_fixture.ts";
import {
  AMD_PRODUCTS,
  conformanceCert,
  conformanceCerts,
  conformanceCrl,
  manifestRoots,
  snpVectors,
  tdxVectors,
} from "./vectors.ts";

const NOW = new Date("2030-06-01T00:00:00Z");
const CA_USAGE = px.KeyUsageFlags.keyCertSign | px.KeyUsageFlags.cRLSign;

/** A P-256 leaf named "leaf" issued by `issuer`; `extra` overrides any issue option. */
async function leafUnder(issuer: Issued, extra: Partial<IssueOptions> = {}): Promise<Issued> {
  return issue({ cn: "leaf", field: "leaf", keys: await makeKeys("P-256"), issuer, ...extra });
}

/** A P-256 CA (keyCertSign and cRLSign) issued by `issuer`; `extra` overrides any issue option. */
async function caUnder(
  issuer: Issued,
  cn: string,
  field: string,
  extra: Partial<IssueOptions> = {},
): Promise<Issued> {
  const keys = await makeKeys("P-256");
  return issue({ cn, field, keys, issuer, ca: true, keyUsage: CA_USAGE, ...extra });
}

/** verifyChain options for `leaf` → `ca` → the pinned root certificate, checked at NOW. */
function underCa(leaf: Certificate, ca: Issued, root: Issued, field = "chain"): VerifyChainOptions {
  return { leaf, intermediates: [ca.cert], trustAnchors: [root.cert], now: NOW, field };
}

/** The shared three-level test PKI. */
interface TestPki {
  readonly root: Issued;
  readonly ca: Issued;
  readonly leaf: Issued;
}

/** A three-level test PKI: root (P-384) → intermediate (P-256, pathLen 0) → leaf (P-256). */
async function threeLevels(): Promise<TestPki> {
  const root = await makeRoot("Test Root", "P-384");
  const ca = await caUnder(root, "Test CA", "ca", { pathLength: 0 });
  const leaf = await leafUnder(ca, { cn: "Test Leaf" });
  return { root, ca, leaf };
}

const pkiPromise = threeLevels();

async function rejects(promise: Promise<unknown>, field: RegExp, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof VerificationError, `not a VerificationError: ${String(e)}`);
    assert.match(e.field, field);
    assert.match(e.reason, reason);
    return true;
  });
}

/** Asserts that the shared PKI's leaf → ca → root chain is rejected with `crl` given. */
async function rejectsWithCrl(
  { root, ca, leaf }: TestPki,
  crl: Crl,
  field: RegExp,
  reason: RegExp,
): Promise<void> {
  await rejects(verifyChain({ ...underCa(leaf.cert, ca, root), crls: [crl] }), field, reason);
}

// ---- real vendor chains ----

conformanceTest("AMD ASK and ASVK verify up to the pinned ARK of every product", async () => {
  const roots = await manifestRoots();
  for (const product of AMD_PRODUCTS) {
    const ark = await conformanceCert(`amd/${product}/ark.pem`, "ark");
    for (const intermediate of ["ask", "asvk"]) {
      const cert = await conformanceCert(`amd/${product}/${intermediate}.pem`, intermediate);
      const chain = await verifyChain({
        leaf: cert,
        intermediates: [ark],
        trustAnchors: [roots.amd[product]!],
        now: NOW,
        field: `${product}Chain`,
      });
      assert.equal(chain.certificates.length, 2);
      assert.equal(chain.rootFingerprint, roots.amd[product]);
    }
  }
});

conformanceTest(
  "every SNP vector's VCEK/VLEK verifies to its product's pinned ARK at its time",
  async () => {
    const roots = await manifestRoots();
    for (const v of await snpVectors()) {
      const vek = await conformanceCert(`${v.dir}/${v.vek}`, "vek");
      const intermediate = await conformanceCert(`${v.dir}/${v.intermediate}`, "intermediate");
      const ark = await conformanceCert(`${v.dir}/ark.pem`, "ark");
      const chain = await verifyChain({
        leaf: vek,
        intermediates: [intermediate, ark],
        trustAnchors: [roots.amd[v.product]!],
        now: v.now,
        field: v.name,
      });
      assert.deepEqual(
        chain.certificates.map((c) => c.field),
        ["vek", "intermediate", "ark"],
        v.name,
      );
    }
  },
);

conformanceTest("rejects a Genoa VCEK chain when only the Milan ARK is pinned", async () => {
  const roots = await manifestRoots();
  const v = (await snpVectors()).find((x) => x.product === "genoa")!;
  await rejects(
    verifyChain({
      leaf: await conformanceCert(`${v.dir}/vcek.der`, "vcek"),
      intermediates: [
        await conformanceCert(`${v.dir}/ask.pem`, "ask"),
        await conformanceCert(`${v.dir}/ark.pem`, "ark"),
      ],
      trustAnchors: [roots.amd.milan!],
      now: v.now,
      field: "chain",
    }),
    /^chain\.ark$/,
    /is not a pinned trust anchor/,
  );
});

conformanceTest("rejects a VLEK presented with the VCEK signing key (ASK)", async () => {
  const roots = await manifestRoots();
  const v = (await snpVectors()).find((x) => x.vek === "vlek.der")!;
  await rejects(
    verifyChain({
      leaf: await conformanceCert(`${v.dir}/vlek.der`, "vlek"),
      intermediates: [await conformanceCert("amd/milan/ask.pem", "ask")],
      trustAnchors: [await conformanceCert("amd/milan/ark.pem", "ark")],
      now: v.now,
      field: "chain",
    }),
    /^chain\.vlek\.issuer$/,
    /no certificate of issuer .*SEV-VLEK-Milan/,
  );
  void roots;
});

conformanceTest(
  "the Intel PCK chain of every TDX vector verifies to the pinned SGX Root CA",
  async () => {
    const roots = await manifestRoots();
    for (const v of await tdxVectors()) {
      const [leaf, ...rest] = await conformanceCerts(`${v.dir}/pck_chain_from_quote.pem`, "pck");
      const chain = await verifyChain({
        leaf: leaf!,
        intermediates: rest,
        trustAnchors: [roots.intel],
        now: v.now,
        field: v.name,
      });
      assert.equal(chain.certificates.length, 3, v.name);
      assert.equal(chain.rootFingerprint, roots.intel);
    }
  },
);

conformanceTest(
  "Intel TCB signing chains verify, with the root CA CRL and the PCK CRL",
  async () => {
    const roots = await manifestRoots();
    for (const v of await tdxVectors()) {
      if (!v.files.includes("tcb_info_issuer_chain.pem")) continue;
      const [signer, root] = await conformanceCerts(
        `${v.dir}/tcb_info_issuer_chain.pem`,
        "tcbSigning",
      );
      const rootCrl = await conformanceCrl(`${v.dir}/root_ca_crl.der`, "rootCaCrl");
      const chain = await verifyChain({
        leaf: signer!,
        intermediates: [root!],
        trustAnchors: [roots.intel],
        crls: [rootCrl],
        now: v.now,
        field: v.name,
      });
      assert.deepEqual(chain.revocationChecked, [true, false], v.name);
      if (!v.files.includes("pck_crl.der")) continue;
      const [leaf, ...rest] = await conformanceCerts(`${v.dir}/pck_chain_from_quote.pem`, "pck");
      const pck = await verifyChain({
        leaf: leaf!,
        intermediates: rest,
        trustAnchors: [roots.intel],
        crls: [rootCrl, await conformanceCrl(`${v.dir}/pck_crl.der`, "pckCrl")],
        now: v.now,
        field: v.name,
      });
      assert.deepEqual(pck.revocationChecked, [true, true, false], v.name);
      assert.ok(pck.validUntil <= rootCrl.nextUpdate!);
    }
  },
);

conformanceTest(
  "rejects an Intel PCK chain at a time after its CRL's nextUpdate (stale CRL)",
  async () => {
    const roots = await manifestRoots();
    const v = (await tdxVectors()).find((x) => x.name === "v4-phala-b0c06f-uptodate")!;
    const [leaf, ...rest] = await conformanceCerts(`${v.dir}/pck_chain_from_quote.pem`, "pck");
    const pckCrl = await conformanceCrl(`${v.dir}/pck_crl.der`, "pckCrl");
    await rejects(
      verifyChain({
        leaf: leaf!,
        intermediates: rest,
        trustAnchors: [roots.intel],
        crls: [pckCrl],
        now: new Date(pckCrl.nextUpdate!.getTime() + 1000),
        field: "pck",
      }),
      /^pck\.crls\[0\]\.nextUpdate$/,
      /stale/,
    );
  },
);

// ---- generated chains: every rejection path ----

Deno.test("a generated three-level chain verifies and reports its window", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const chain = await verifyChain({
    leaf: leaf.cert,
    intermediates: [ca.cert, root.cert],
    trustAnchors: [await root.cert.fingerprint()],
    now: NOW,
    field: "chain",
  });
  assert.deepEqual(chain.certificates.map((c) => c.field), ["leaf", "ca", "Test Root"]);
  assert.equal(chain.validFrom.getTime(), FROM.getTime());
  assert.equal(chain.validUntil.getTime(), UNTIL.getTime());
  // A root given as a trust-anchor certificate works the same, and colon/upper-case pins too.
  const fp = (await root.cert.fingerprint()).toUpperCase().match(/../g)!.join(":");
  await verifyChain(underCa(leaf.cert, ca, root, "c"));
  await verifyChain({
    leaf: leaf.cert,
    intermediates: [ca.cert, root.cert],
    trustAnchors: [fp],
    now: NOW,
    field: "c",
  });
});

Deno.test("rejects a leaf whose signature has one flipped byte", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const der = new Uint8Array(leaf.cert.der);
  der[der.length - 5]! ^= 0x40;
  await rejects(
    verifyChain(underCa(parseCertificate(der, "leaf"), ca, root)),
    /^chain\.leaf/,
    /signature|not strict DER|DER/,
  );
});

Deno.test("rejects a leaf signed by another key under its issuer's name (wrong issuer)", async () => {
  const { root, ca } = await pkiPromise;
  const impostor = await makeKeys("P-256");
  const leaf = await leafUnder(ca, { cn: "Leaf", keys: impostor, signWith: impostor });
  await rejects(
    verifyChain(underCa(leaf.cert, ca, root)),
    /^chain\.leaf$/,
    /signature does not verify with the key of "CN=Test CA/,
  );
});

Deno.test("rejects a chain whose issuer certificate is missing", async () => {
  const { root, leaf } = await pkiPromise;
  await rejects(
    verifyChain({ leaf: leaf.cert, trustAnchors: [root.cert], now: NOW, field: "chain" }),
    /^chain\.leaf\.issuer$/,
    /no certificate of issuer "CN=Test CA/,
  );
});

Deno.test("rejects a chain at a time after the leaf expired", async () => {
  const { root, ca } = await pkiPromise;
  const leaf = await leafUnder(ca, { cn: "Short", notAfter: new Date("2025-01-01T00:00:00Z") });
  await rejects(
    verifyChain(underCa(leaf.cert, ca, root)),
    /^chain\.leaf\.validity$/,
    /valid from 2020-01-01T00:00:00.000Z to 2025-01-01T00:00:00.000Z, not at 2030/,
  );
});

Deno.test("rejects a chain at a time before the intermediate is valid", async () => {
  const { root } = await pkiPromise;
  const ca = await caUnder(root, "Test CA", "ca", {
    notBefore: new Date("2031-01-01T00:00:00Z"),
  });
  // A leaf issued by that not-yet-valid CA.
  const late = await leafUnder(ca);
  await rejects(verifyChain(underCa(late.cert, ca, root)), /^chain\.ca\.validity$/, /not at 2030/);
});

Deno.test("rejects a chain whose self-signed root is not pinned", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const other = await makeRoot("Other Root", "P-256");
  await rejects(
    verifyChain({
      leaf: leaf.cert,
      intermediates: [ca.cert, root.cert],
      trustAnchors: [await other.cert.fingerprint()],
      now: NOW,
      field: "chain",
    }),
    /^chain\.Test Root$/,
    /is not a pinned trust anchor/,
  );
});

Deno.test("rejects a pinned root whose self-signature does not verify", async () => {
  const keys = await makeKeys("P-256");
  const forgedRoot = await issue({
    cn: "Forged",
    keys,
    ca: true,
    signWith: await makeKeys("P-256"),
  });
  await rejects(
    verifyChain({
      leaf: forgedRoot.cert,
      trustAnchors: [forgedRoot.cert],
      now: NOW,
      field: "chain",
    }),
    /^chain\.Forged$/,
    /signature does not verify/,
  );
});

Deno.test("rejects an issuer that is not a CA (no basicConstraints, or cA false)", async () => {
  const { root } = await pkiPromise;
  for (const ca of [undefined, false]) {
    const notCa = await issue({
      cn: "Not A CA",
      field: "notCa",
      keys: await makeKeys("P-256"),
      issuer: root,
      ca,
    });
    const leaf = await leafUnder(notCa);
    await rejects(
      verifyChain(underCa(leaf.cert, notCa, root)),
      /^chain\.notCa\.basicConstraints$/,
      /is not a CA/,
    );
  }
});

Deno.test("rejects a chain longer than an issuer's pathLen allows", async () => {
  const { root, ca } = await pkiPromise; // ca has pathLen 0
  const sub = await caUnder(ca, "Sub CA", "sub");
  const leaf = await leafUnder(sub);
  await rejects(
    verifyChain({ ...underCa(leaf.cert, sub, root), intermediates: [sub.cert, ca.cert] }),
    /^chain\.ca\.basicConstraints$/,
    /allows 0 intermediate CA\(s\) below it, chain has 1/,
  );
});

Deno.test("rejects an issuer whose key usage lacks keyCertSign", async () => {
  const { root } = await pkiPromise;
  const ca = await caUnder(root, "Sign Only", "ca", {
    keyUsage: px.KeyUsageFlags.digitalSignature,
  });
  const leaf = await leafUnder(ca);
  await rejects(
    verifyChain(underCa(leaf.cert, ca, root)),
    /^chain\.ca\.keyUsage$/,
    /lacks the keyCertSign/,
  );
});

Deno.test("rejects a certificate with an unknown critical extension", async () => {
  const { root, ca } = await pkiPromise;
  const leaf = await leafUnder(ca, {
    extraExtensions: [new px.Extension("1.3.6.1.4.1.99999.1", true, new Uint8Array([5, 0]))],
  });
  const options = underCa(leaf.cert, ca, root);
  await rejects(
    verifyChain(options),
    /^chain\.leaf\.extensions$/,
    /unsupported critical extension 1\.3\.6\.1\.4\.1\.99999\.1/,
  );
  // Accepted when the caller says it checks that extension itself.
  await verifyChain({ ...options, understoodCriticalExtensions: ["1.3.6.1.4.1.99999.1"] });
});

/** A chain leaf → ca → root checked with one CRL that must make it fail. */
interface CrlRejection {
  readonly name: string;
  readonly crl: (pki: TestPki) => Promise<Crl>;
  readonly field: RegExp;
  readonly reason: RegExp;
}

const crlRejections: readonly CrlRejection[] = [
  {
    name: "rejects a leaf whose serial is revoked by a CRL of its issuer",
    crl: ({ ca, leaf }) => makeCrl({ issuer: ca, revoked: ["7f", leaf.cert.serialNumber] }),
    field: /^chain\.leaf\.serialNumber$/,
    reason: /is revoked by the CRL of "CN=Test CA/,
  },
  {
    name: "rejects an intermediate revoked by the root's CRL",
    crl: ({ root, ca }) => makeCrl({ issuer: root, revoked: [ca.cert.serialNumber] }),
    field: /^chain\.ca\.serialNumber$/,
    reason: /revoked/,
  },
];

for (const row of crlRejections) {
  Deno.test(row.name, async () => {
    const pki = await pkiPromise;
    await rejectsWithCrl(pki, await row.crl(pki), row.field, row.reason);
  });
}

Deno.test("a current CRL that does not list the leaf marks the link as checked", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const crl = await makeCrl({ issuer: ca, revoked: ["7f"] });
  const chain = await verifyChain({ ...underCa(leaf.cert, ca, root), crls: [crl] });
  assert.deepEqual(chain.revocationChecked, [true, false, false]);
});

const badCrls: readonly CrlRejection[] = [
  {
    name: "rejects a CRL signed by the wrong key",
    crl: async ({ ca }) => makeCrl({ issuer: ca, signWith: await makeKeys("P-256") }),
    field: /^chain\.crls\[0\]$/,
    reason: /signature does not verify/,
  },
  {
    name: "rejects a stale CRL (nextUpdate before now)",
    crl: ({ ca }) => makeCrl({ issuer: ca, nextUpdate: new Date("2029-01-01T00:00:00Z") }),
    field: /^chain\.crls\[0\]\.nextUpdate$/,
    reason: /stale/,
  },
];

for (const row of badCrls) {
  Deno.test(row.name, async () => {
    const pki = await pkiPromise;
    await rejectsWithCrl(pki, await row.crl(pki), row.field, row.reason);
  });
}

Deno.test("rejects a CRL issued after now and one without nextUpdate", async () => {
  const pki = await pkiPromise;
  const { ca } = pki;
  const future = await makeCrl({ issuer: ca, thisUpdate: new Date("2031-01-01T00:00:00Z") });
  await rejectsWithCrl(pki, future, /^chain\.crls\[0\]\.thisUpdate$/, /after now/);
  const open = await makeCrl({ issuer: ca, nextUpdate: null });
  await rejectsWithCrl(pki, open, /^chain\.crls\[0\]\.nextUpdate$/, /no nextUpdate/);
});

Deno.test("RSA-PSS chains like AMD's verify (generated root, intermediate and P-384 leaf)", async () => {
  const root = await makeRoot("ARK-Test", "RSA-PSS");
  const ask = await issue({
    cn: "SEV-Test",
    field: "ask",
    keys: await makeKeys("RSA-PSS"),
    issuer: root,
    ca: true,
    pathLength: 0,
    keyUsage: px.KeyUsageFlags.keyCertSign,
  });
  const vcek = await issue({
    cn: "SEV-VCEK",
    field: "vcek",
    keys: await makeKeys("P-384"),
    issuer: ask,
  });
  const crl = await makeCrl({ issuer: root, revoked: ["1234"] });
  const chain = await verifyChain({
    leaf: vcek.cert,
    intermediates: [ask.cert, root.cert],
    trustAnchors: [await root.cert.fingerprint()],
    crls: [crl],
    now: NOW,
    field: "chain",
  });
  assert.deepEqual(chain.revocationChecked, [false, true, false]);
});

Deno.test("picks the right issuer among several with the same name", async () => {
  const { root } = await pkiPromise;
  const a = await caUnder(root, "Twin CA", "a");
  const b = await caUnder(root, "Twin CA", "b");
  const leaf = await leafUnder(b);
  const chain = await verifyChain({
    ...underCa(leaf.cert, b, root),
    intermediates: [a.cert, b.cert],
  });
  assert.equal(chain.certificates[1]!.field, "b");
});

Deno.test("a search among look-alike certificates stops after a bounded number of signature checks", async () => {
  // 4 levels of 4 look-alikes: 256 paths, each of whose links verifies, none reaching the root.
  // Unbounded, the search checks over a thousand signatures before it fails (exponential in the
  // chain length: a quote's PCK chain of a few dozen such certificates would take hours).
  const { leaf, pool } = await lookAlikeFanOut(4, 4);
  const root = await makeRoot("root", "P-256");
  const verify = crypto.subtle.verify;
  let checks = 0;
  crypto.subtle.verify = function (...args: Parameters<SubtleCrypto["verify"]>) {
    checks++;
    return verify.apply(this, args);
  };
  try {
    for (const cache of [undefined, new ChainCache()]) {
      checks = 0;
      await assert.rejects(
        verifyChain({
          leaf: leaf.cert,
          intermediates: [...pool.map((p) => p.cert), root.cert],
          trustAnchors: [await root.cert.fingerprint()],
          now: NOW,
          field: "chain",
          cache,
        }),
        (e: unknown) =>
          e instanceof VerificationError && e.field === "chain" &&
          e.reason.includes(`within ${MAX_PATH_SIGNATURE_CHECKS} signature checks`),
      );
      assert.ok(checks <= MAX_PATH_SIGNATURE_CHECKS, `${checks} signature checks`);
    }
  } finally {
    crypto.subtle.verify = verify;
  }
});

Deno.test("rejects an empty set of trust anchors", async () => {
  const { leaf } = await pkiPromise;
  await rejects(
    verifyChain({ leaf: leaf.cert, trustAnchors: [], now: NOW, field: "chain" }),
    /^chain$/,
    /no trust anchor/,
  );
});

// ---- cache ----

Deno.test("ChainCache returns a verified chain again without re-verifying", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const cache = new ChainCache();
  const options = { ...underCa(leaf.cert, ca, root), cache };
  const first = await verifyChain(options);
  const second = await verifyChain({ ...options, leaf: parseCertificate(leaf.cert.der, "leaf") });
  assert.equal(second, first);
  assert.equal(cache.stats.hits, 1);
});

Deno.test("ChainCache never serves a chain outside its validity window", async () => {
  const { root, ca } = await pkiPromise;
  const leaf = await leafUnder(ca, { notAfter: new Date("2031-01-01T00:00:00Z") });
  const cache = new ChainCache();
  const options = { ...underCa(leaf.cert, ca, root), cache };
  await verifyChain(options);
  await rejects(
    verifyChain({ ...options, now: new Date("2032-01-01T00:00:00Z") }),
    /validity$/,
    /not at 2032/,
  );
});

Deno.test("ChainCache does not let a new CRL that revokes the leaf be bypassed", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const cache = new ChainCache();
  const options = { ...underCa(leaf.cert, ca, root), cache };
  await verifyChain(options);
  const crl = await makeCrl({ issuer: ca, revoked: [leaf.cert.serialNumber] });
  await rejects(verifyChain({ ...options, crls: [crl] }), /serialNumber$/, /revoked/);
});

Deno.test("ChainCache keeps a different pin from reusing a chain", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const cache = new ChainCache();
  const withRoot = { ...underCa(leaf.cert, ca, root), intermediates: [ca.cert, root.cert], cache };
  await verifyChain(withRoot);
  const other = await makeRoot("Other", "P-256");
  await rejects(
    verifyChain({ ...withRoot, trustAnchors: [await other.cert.fingerprint()] }),
    /Test Root$/,
    /not a pinned/,
  );
});

Deno.test("ChainCache: a repeated chain is found without waiting, under its first verification's key", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const cache = new ChainCache();
  const options = { ...underCa(leaf.cert, ca, root, "c"), cache };
  const first = await verifyChain(options);
  const before = cache.stats;
  const second = await verifyChain(options);
  assert.equal(second, first);
  // One lookup, a hit: the key built from the fingerprints known by now is the stored key (a
  // different one would miss first, then hit under the key computed the slow way).
  assert.deepEqual([cache.stats.hits - before.hits, cache.stats.misses - before.misses], [1, 0]);
});

Deno.test("ChainCache: the quick lookup does not bypass a known CRL that revokes the leaf", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const cache = new ChainCache();
  const options = { ...underCa(leaf.cert, ca, root, "c"), cache };
  const current = await makeCrl({ issuer: ca, revoked: [] });
  await verifyChain(options);
  await verifyChain({ ...options, crls: [current] });
  await verifyChain({ ...options, crls: [current] });
  const revoking = await makeCrl({ issuer: ca, revoked: [leaf.cert.serialNumber] });
  await revoking.fingerprint(); // known: the quick lookup builds its key with it
  await rejects(verifyChain({ ...options, crls: [revoking] }), /serialNumber$/, /revoked/);
  await rejects(
    verifyChain({ ...options, crls: [current, revoking] }),
    /serialNumber$/,
    /revoked/,
  );
});

Deno.test("ChainCache: the quick lookup keeps another pin, extension set or length limit apart", async () => {
  const { root, ca } = await pkiPromise;
  const oid = "1.3.6.1.4.1.99999.1";
  const leaf = await leafUnder(ca, {
    extraExtensions: [new px.Extension(oid, true, new Uint8Array([5, 0]))],
  });
  const cache = new ChainCache();
  const pinned = {
    leaf: leaf.cert,
    intermediates: [ca.cert, root.cert],
    trustAnchors: [await root.cert.fingerprint()],
    now: NOW,
    field: "chain",
    cache,
    understoodCriticalExtensions: [oid],
    maxLength: 3,
  };
  await verifyChain(pinned);
  await verifyChain(pinned);
  assert.equal(cache.stats.hits, 1);
  const other = await makeRoot("Other", "P-256");
  await rejects(
    verifyChain({ ...pinned, trustAnchors: [await other.cert.fingerprint()] }),
    /Test Root$/,
    /not a pinned/,
  );
  await rejects(
    verifyChain({ ...pinned, understoodCriticalExtensions: [] }),
    /^chain\.leaf\.extensions$/,
    /unsupported critical extension/,
  );
  await rejects(verifyChain({ ...pinned, maxLength: 2 }), /^chain/, /longer than 2/);
});

Deno.test("ChainCache drops the least recently used chains beyond its size", async () => {
  const { root, ca } = await pkiPromise;
  const cache = new ChainCache({ maxChains: 2 });
  const leaves = await Promise.all(
    [1, 2, 3].map(async (i) => (await leafUnder(ca, { cn: `leaf ${i}` })).cert),
  );
  for (const leaf of leaves) {
    await verifyChain({ ...underCa(leaf, ca, root, "c"), cache });
  }
  assert.equal(cache.stats.chains, 2);
  assert.equal(cache.stats.hits, 0);
  await verifyChain({ ...underCa(leaves[2]!, ca, root, "c"), cache });
  assert.equal(cache.stats.hits, 1);
});

Deno.test("a verified chain is frozen, so a cached result cannot be altered by a caller", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const chain = await verifyChain(underCa(leaf.cert, ca, root, "c"));
  assert.ok(Object.isFrozen(chain));
  assert.throws(() => (chain.certificates as Certificate[]).pop());
});

Deno.test("ChainCache merges concurrent verifications of the same chain into one", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const cache = new ChainCache();
  const options = { ...underCa(leaf.cert, ca, root, "c"), cache };
  const results = await Promise.all(Array.from({ length: 8 }, () => verifyChain(options)));
  for (const r of results) assert.equal(r, results[0]);
  assert.equal(cache.stats.merged, 7);
  assert.equal(cache.stats.signatures, 3);
});

Deno.test("ChainCache does not share a concurrent failure with a caller whose time is valid", async () => {
  const { root, ca } = await pkiPromise;
  const leaf = await leafUnder(ca, { notAfter: new Date("2031-01-01T00:00:00Z") });
  const cache = new ChainCache();
  const base = { ...underCa(leaf.cert, ca, root, "c"), cache };
  const [late, onTime] = await Promise.allSettled([
    verifyChain({ ...base, now: new Date("2032-01-01T00:00:00Z") }),
    verifyChain({ ...base, now: NOW }),
  ]);
  assert.equal(late.status, "rejected");
  assert.equal(onTime.status, "fulfilled");
});

Deno.test("a CRL of an issuer outside the chain is not counted as a revocation check", async () => {
  const { root, ca, leaf } = await pkiPromise;
  const stranger = await makeRoot("Stranger", "P-256");
  const crl = await makeCrl({ issuer: stranger, revoked: [leaf.cert.serialNumber] });
  const chain = await verifyChain({ ...underCa(leaf.cert, ca, root, "c"), crls: [crl] });
  assert.deepEqual(chain.revocationChecked, [false, false, false]);
});
