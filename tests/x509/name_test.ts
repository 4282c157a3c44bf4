import "reflect-metadata";
import assert from "node:assert/strict";
import { Name } from "@peculiar/x509";
import { ParseError } from "../../util/errors/mod.ts";
import { parseCertificates } from "../../x509/certificate.ts";
import { formatName } from "../../x509/name.ts";
import { CONFORMANCE_DIR, conformanceTest } from "../conformance.ts";

async function* pemFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* pemFiles(url);
    else if (entry.name.endsWith(".pem")) yield url;
  }
}

conformanceTest(
  "formats every conformance certificate's names as @peculiar/x509 does",
  async () => {
    let compared = 0;
    for await (const file of pemFiles(CONFORMANCE_DIR)) {
      const text = await Deno.readTextFile(file);
      if (!text.includes("BEGIN CERTIFICATE")) continue;
      for (const cert of parseCertificates(text, file.pathname)) {
        for (const der of [cert.subjectDer, cert.issuerDer]) {
          assert.equal(formatName(der), new Name(der as Uint8Array<ArrayBuffer>).toString());
          compared++;
        }
      }
    }
    assert.ok(compared >= 20, `only ${compared} names compared`);
  },
);

Deno.test("formats escaped, multi-valued, unknown-type and non-string values as @peculiar/x509", () => {
  for (
    const text of [
      "CN=a\\,b\\+c, O=\\#x, OU=trailing\\ ",
      "CN=one+O=two, C=DE",
      "1.2.3.4=plain, E=a@example.com, DC=example",
      "CN=Ünïcødé",
    ]
  ) {
    const der = new Uint8Array(new Name(text).toArrayBuffer());
    assert.equal(formatName(der), new Name(der).toString());
  }
});

Deno.test("a Name that is not a SEQUENCE of SETs is a ParseError", () => {
  assert.throws(() => formatName(new Uint8Array([0x31, 0x00])), ParseError);
  assert.throws(() => formatName(new Uint8Array([0x30, 0x02, 0x30, 0x00])), ParseError);
  assert.throws(() => formatName(new Uint8Array([0x30, 0x04, 0x31, 0x02, 0x30, 0x00])), ParseError);
});
