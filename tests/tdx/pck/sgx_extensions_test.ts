import "reflect-metadata";
import { strict as assert } from "node:assert";
import { X509Certificate } from "@peculiar/x509";
import { decodePem, encodeHex } from "../../../util/bytes/mod.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import {
  encodeSgxExtensions,
  parseSgxExtensions,
  SGX_EXTENSION_OID,
} from "../../../tdx/pck/sgx_extensions.ts";
import {
  conformanceAvailable,
  conformanceTest,
  readConformance,
  readConformanceManifest,
} from "../../conformance.ts";

async function leafExtension(dir: string): Promise<Uint8Array> {
  const pem = new TextDecoder().decode(await readConformance(`${dir}/pck_chain_from_quote.pem`));
  const leaf = new X509Certificate(decodePem(pem, "CERTIFICATE")[0]!.der.slice());
  const ext = leaf.getExtension(SGX_EXTENSION_OID);
  assert.ok(ext, "PCK leaf has the SGX extension");
  return new Uint8Array(ext.value);
}

conformanceTest(
  "SGX extensions of every vector's PCK certificate match MANIFEST.json",
  async () => {
    if (!conformanceAvailable) return;
    const manifest = await readConformanceManifest();
    // deno-lint-ignore no-explicit-any
    for (const v of manifest.tdx as any[]) {
      const e = v.expected.pck_extensions;
      const x = parseSgxExtensions(await leafExtension(v.dir));
      assert.equal(encodeHex(x.ppid), e.ppid, v.name);
      assert.equal(encodeHex(x.cpuSvn), e.cpusvn, v.name);
      assert.deepEqual(x.sgxTcbComponents, e.sgx_tcb_comp_svn, v.name);
      assert.equal(x.pceSvn, e.pcesvn, v.name);
      assert.equal(encodeHex(x.pceId), e.pceid, v.name);
      assert.equal(encodeHex(x.fmspc), e.fmspc, v.name);
      assert.equal(x.sgxType, e.sgx_type, v.name);
      assert.equal(encodeHex(x.platformInstanceId!), e.platform_instance_id, v.name);
      assert.equal(x.configuration !== undefined, e.configuration === "present", v.name);
    }
  },
);

const sample = {
  ppid: new Uint8Array(16).fill(7),
  sgxTcbComponents: [3, 3, 2, 2, 4, 1, 0, 200, 0, 0, 0, 0, 0, 0, 0, 255],
  pceSvn: 13,
  cpuSvn: new Uint8Array(16).fill(3),
  pceId: new Uint8Array(2),
  fmspc: Uint8Array.of(0x90, 0xc0, 0x6f, 0, 0, 0),
  sgxType: 1 as const,
  platformInstanceId: new Uint8Array(16).fill(9),
  configuration: { dynamicPlatform: true, cachedKeys: false, smtEnabled: true },
};

Deno.test("encoded SGX extensions parse back to the same values", () => {
  assert.deepEqual(parseSgxExtensions(encodeSgxExtensions(sample)), sample);
});

conformanceTest(
  "encoding a real extension's parsed values reproduces its exact bytes",
  async () => {
    const der = await leafExtension("tdx/v4-phala-b0c06f-uptodate");
    assert.deepEqual(encodeSgxExtensions(parseSgxExtensions(der)), der);
  },
);

function rejects(der: Uint8Array, field: RegExp) {
  assert.throws(() => parseSgxExtensions(der), (e: unknown) => {
    assert.ok(e instanceof ParseError, String(e));
    assert.match(e.field, field);
    return true;
  });
}

Deno.test("rejects an SGX extension whose FMSPC is not 6 bytes", () => {
  rejects(encodeSgxExtensions({ ...sample, fmspc: new Uint8Array(5) }), /fmspc/);
});

Deno.test("rejects an SGX extension with a wrong-length PPID", () => {
  rejects(encodeSgxExtensions({ ...sample, ppid: new Uint8Array(15) }), /ppid/);
});

Deno.test("rejects an SGX TCB component SVN above 255", () => {
  const c = [...sample.sgxTcbComponents];
  c[4] = 256;
  rejects(encodeSgxExtensions({ ...sample, sgxTcbComponents: c }), /sgxTcbComp05Svn/);
});

Deno.test("rejects an SGX extension missing TCB component 16", () => {
  rejects(
    encodeSgxExtensions({ ...sample, sgxTcbComponents: sample.sgxTcbComponents.slice(0, 15) }),
    /sgxTcbComp16Svn/,
  );
});

Deno.test("rejects an unknown SGX type", () => {
  rejects(encodeSgxExtensions({ ...sample, sgxType: 3 as 1 }), /sgxType/);
});

Deno.test("rejects truncated SGX extension bytes", () => {
  const der = encodeSgxExtensions(sample);
  rejects(der.subarray(0, der.length - 3), /pck\.sgxExtensions/);
});
