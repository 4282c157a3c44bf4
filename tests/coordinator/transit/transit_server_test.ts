import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeBase64, encodeHex } from "../../../util/bytes/mod.ts";
import { parseManifestRequest } from "../../../protocol/messages.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../../protocol/signatures.ts";
import { manifestHash, transitionHash } from "../../../manifest/hash.ts";
import { CertificateAuthority } from "../../../coordinator/ca/certificate_authority.ts";
import { SeedEngine } from "../../../seed/seed_engine.ts";
import { deployment, inProcessCoordinator } from "../fixture.ts";
import {
  b64,
  manifestWithDbSecret,
  podCredentials,
  TRANSIT_SERVICE_CONFIG,
  transitCoordinator,
  transitRequest,
} from "./fixture.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "transit: encrypt and decrypt with the pod's mesh certificate, vault:v1 ciphertexts",
  ...opts,
  fn: async () => {
    const { d, c, view, port, meshCaPem } = await transitCoordinator();
    try {
      const web = await podCredentials(view(), d.pods.web!.digest);
      const enc = await transitRequest(
        port(),
        web,
        meshCaPem(),
        "POST",
        "/v1/transit/encrypt/web-secret",
        {
          plaintext: b64("card 4242"),
        },
      );
      assert.equal(enc.status, 200, JSON.stringify(enc.body));
      assert.match(enc.body.data.ciphertext, /^vault:v1:[A-Za-z0-9+/]+=*$/);
      assert.equal(enc.body.data.key_version, 1);
      const again = await transitRequest(
        port(),
        web,
        meshCaPem(),
        "POST",
        "/v1/transit/encrypt/web-secret",
        {
          plaintext: b64("card 4242"),
        },
      );
      assert.notEqual(again.body.data.ciphertext, enc.body.data.ciphertext, "random nonces");
      const dec = await transitRequest(
        port(),
        web,
        meshCaPem(),
        "POST",
        "/v1/transit/decrypt/web-secret",
        {
          ciphertext: enc.body.data.ciphertext,
        },
      );
      assert.equal(dec.status, 200);
      assert.equal(dec.body.data.plaintext, b64("card 4242"));
    } finally {
      await c.close();
    }
  },
});
