import assert from "node:assert/strict";
import "reflect-metadata";
import * as px from "@peculiar/x509";
import { ContrastError, ParseError, VerificationError } from "../../util/errors/mod.ts";
import { encodePem } from "../../util/bytes/mod.ts";
import { isRevoked, parseCrl, verifyCrl } from "../../x509/crl.ts";
import { conformanceTest } from "../conformance.ts";
import { issue, makeCrl, makeKeys, makeRoot } from "./pki_fixture.ts";
import { conformanceCerts, conformanceCrl, tdxVectors } from "./vectors.ts";

const NOW = new Date("2030-06-01T00:00:00Z");
const PHALA = "tdx/v4-phala-b0c06f-uptodate";

conformanceTest(
  "parses Intel's PCK CRL: issuer, update times and every revoked serial",
  async () => {
    const crl = await conformanceCrl(`${PHALA}/pck_crl.der`, "pckCrl");
    assert.match(crl.issuer, /CN=Intel SGX PCK Platform CA/);
    assert.equal(crl.thisUpdate.toISOString(), "2025-06-19T10:00:35.000Z");
    assert.equal(crl.nextUpdate?.toISOString(), "2025-07-19T10:00:35.000Z");
    assert.equal(crl.revoked.size, 44);
    assert.ok(isRevoked(crl, "6FC34E5023E728923435D61AA4B83C618166AD35"));
    assert.ok(isRevoked(crl, "6f:c3:4e:50:23:e7:28:92:34:35:d6:1a:a4:b8:3c:61:81:66:ad:35"));
    assert.ok(!isRevoked(crl, "6FC34E5023E728923435D61AA4B83C618166AD36"));
  },
);

conformanceTest(
  "every real Intel CRL verifies against its issuer at the vector's time",
  async () => {
    for (const v of await tdxVectors()) {
      if (v.files.includes("pck_crl.der")) {
        const [pckCa] = await conformanceCerts(`${v.dir}/pck_crl_issuer_chain.pem`, "pckCrlChain");
        await verifyCrl(
          await conformanceCrl(`${v.dir}/pck_crl.der`, "pckCrl"),
          pckCa!,
          v.now,
          "pckCrl",
        );
      }
      if (v.files.includes("root_ca_crl.der")) {
        const chain = await conformanceCerts(`${v.dir}/tcb_info_issuer_chain.pem`, "tcbChain");
        const root = chain[chain.length - 1]!;
        const crl = await conformanceCrl(`${v.dir}/root_ca_crl.der`, "rootCaCrl");
        assert.equal(crl.revoked.size, 0);
        await verifyCrl(crl, root, v.now, "rootCaCrl");
      }
    }
  },
);

conformanceTest(
  "rejects Intel's PCK CRL checked against the root CA (issuer mismatch)",
  async () => {
    const crl = await conformanceCrl(`${PHALA}/pck_crl.der`, "pckCrl");
    const [, root] = await conformanceCerts(`${PHALA}/pck_crl_issuer_chain.pem`, "chain");
    await assert.rejects(verifyCrl(crl, root!, new Date("2025-06-20T00:00:00Z"), "pckCrl"), (e) => {
      assert.ok(e instanceof VerificationError);
      assert.equal(e.field, "pckCrl.issuer");
      return true;
    });
  },
);

conformanceTest("rejects Intel's PCK CRL with a flipped byte in its signed part", async () => {
  const crl = await conformanceCrl(`${PHALA}/pck_crl.der`, "pckCrl");
  const [pckCa] = await conformanceCerts(`${PHALA}/pck_crl_issuer_chain.pem`, "chain");
  const der = new Uint8Array(crl.der);
  // Flip a byte of the serial 6FC34E50… inside the revoked list: the CRL still parses.
  const at = der.findIndex((_, i) =>
    der[i] === 0x6f && der[i + 1] === 0xc3 && der[i + 2] === 0x4e && der[i + 3] === 0x50
  );
  assert.ok(at > 0);
  der[at + 5]! ^= 0x01;
  await assert.rejects(
    verifyCrl(parseCrl(der, "pckCrl"), pckCa!, new Date("2025-06-20T00:00:00Z"), "pckCrl"),
    /signature does not verify/,
  );
});

Deno.test("parses a CRL from PEM text and PEM bytes", async () => {
  const root = await makeRoot("PEM Root", "P-256");
  const crl = await makeCrl({ issuer: root, revoked: ["0abc"] });
  const pem = encodePem("X509 CRL", crl.der);
  assert.ok(isRevoked(parseCrl(pem, "crl"), "abc"));
  assert.ok(isRevoked(parseCrl(new TextEncoder().encode(pem), "crl"), "ABC"));
});

Deno.test("verifyCrl: an RSA-PSS CRL of the issuer verifies; of another key it does not", async () => {
  const root = await makeRoot("ARK-Test", "RSA-PSS");
  await verifyCrl(await makeCrl({ issuer: root }), root.cert, NOW, "crl");
  const forged = await makeCrl({ issuer: root, signWith: await makeKeys("RSA-PSS") });
  await assert.rejects(verifyCrl(forged, root.cert, NOW, "crl"), /signature does not verify/);
});

Deno.test("verifyCrl rejects a CRL whose issuer may not sign CRLs", async () => {
  const keys = await makeKeys("P-256");
  const ca = await issue({
    cn: "No CRL Sign",
    keys,
    ca: true,
    keyUsage: px.KeyUsageFlags.keyCertSign,
  });
  const crl = await makeCrl({ issuer: ca });
  await assert.rejects(verifyCrl(crl, ca.cert, NOW, "crl"), /lacks the cRLSign key usage/);
});

Deno.test("verifyCrl rejects stale, future and open-ended CRLs", async () => {
  const root = await makeRoot("Time Root", "P-256");
  const stale = await makeCrl({ issuer: root, nextUpdate: new Date("2030-05-31T23:59:59Z") });
  await assert.rejects(verifyCrl(stale, root.cert, NOW, "crl"), /crl\.nextUpdate: CRL is stale/);
  const future = await makeCrl({ issuer: root, thisUpdate: new Date("2030-06-01T00:00:01Z") });
  await assert.rejects(verifyCrl(future, root.cert, NOW, "crl"), /crl\.thisUpdate/);
  const open = await makeCrl({ issuer: root, nextUpdate: null });
  await assert.rejects(verifyCrl(open, root.cert, NOW, "crl"), /no nextUpdate/);
});

Deno.test("rejects a truncated CRL with a ParseError naming the field", async () => {
  const root = await makeRoot("Trunc Root", "P-256");
  const crl = await makeCrl({ issuer: root, revoked: ["01", "02"] });
  assert.throws(() => parseCrl(crl.der.subarray(0, crl.der.length - 3), "pckCrl"), (e) => {
    assert.ok(e instanceof ParseError);
    assert.match(e.field, /^pckCrl/);
    return true;
  });
});

conformanceTest("mutated CRLs give only typed errors", async () => {
  const base = (await conformanceCrl(`${PHALA}/pck_crl.der`, "crl")).der;
  let seed = 99;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 3000; n++) {
    const bytes = new Uint8Array(base);
    for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
      bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    }
    const cut = rand() < 0.2 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes;
    try {
      const crl = parseCrl(cut, "crl");
      void crl.issuer;
    } catch (e) {
      assert.ok(e instanceof ContrastError, `untyped error: ${String(e)}`);
    }
  }
});

Deno.test("verifyCrl rejects a delta CRL (critical deltaCRLIndicator) as unsupported", async () => {
  const root = await makeRoot("Delta Root", "P-256");
  const delta = new px.Extension("2.5.29.27", true, Uint8Array.of(0x02, 0x01, 0x05));
  const crl = await makeCrl({ issuer: root, extensions: [delta] });
  await assert.rejects(verifyCrl(crl, root.cert, NOW, "crl"), (e) => {
    assert.ok(e instanceof VerificationError);
    assert.equal(e.field, "crl.crlExtensions");
    assert.match(e.reason, /unsupported critical 2\.5\.29\.27/);
    return true;
  });
});

Deno.test("verifyCrl rejects an indirect CRL entry (critical certificateIssuer)", async () => {
  const root = await makeRoot("Indirect Root", "P-256");
  const certificateIssuer = new px.Extension("2.5.29.29", true, Uint8Array.of(0x30, 0x00));
  const crl = await makeCrl({
    issuer: root,
    revoked: ["42"],
    entryExtensions: [certificateIssuer],
  });
  await assert.rejects(
    verifyCrl(crl, root.cert, NOW, "crl"),
    /unsupported critical entry extension 2\.5\.29\.29/,
  );
});
