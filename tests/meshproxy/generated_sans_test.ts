/**
 * The egress check against the SANs `contrast generate` writes: certificates issued with the
 * manifest entries generate wrote for the example app (examples/emojivoto), served by real mesh
 * proxies. A workload to which the host points a Service's DNS name is refused unless its own
 * entry names that Service; with `--san-wildcard` (the old default) it is accepted.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import type { CertificateAuthority } from "../../coordinator/ca/certificate_authority.ts";
import { inboundPort, plainExchange, podDir, startEchoApp, startProxy } from "./helpers.ts";
import { freePort } from "../helpers/free_port.ts";
import { generate } from "../../deploy/generate.ts";
import { readInputs } from "../../deploy/documents.ts";
import { testGenerateOptions } from "../deploy/generate_options.ts";
import { IMAGES } from "../policy/fixtures.ts";
import type { ImageResolver } from "../../oci/types.ts";
import { meshTest } from "./mesh_test_case.ts";

const EXAMPLE = new URL("../../examples/emojivoto", import.meta.url).pathname;

/** Every image of the example stands in as the fixture web image (the SANs do not depend on it). */
const standIn: ImageResolver = {
  resolve: (reference) =>
    Promise.resolve(
      IMAGES.get(reference) ?? { ...IMAGES.get("127.0.0.1:5000/web:1.0")!, reference },
    ),
};

/** The SANs generate writes for each workload of the example app, by workload name. */
async function exampleSans(sanWildcard: boolean): Promise<Map<string, readonly string[]>> {
  const result = await generate(
    await readInputs([EXAMPLE]),
    await testGenerateOptions({ resolver: standIn, sanWildcard }),
  );
  const byName = new Map<string, readonly string[]>();
  for (const p of result.policies) byName.set(p.name, result.manifest.Policies[p.digest]!.SANs);
  return byName;
}

/**
 * web's egress to `emoji-svc:8080`, once to emoji's proxy and once to voting's (the host pointing
 * emoji-svc at voting); returns what came back each time and the egress's SAN refusals.
 */
async function dialEmojiSvc(
  root: string,
  ca: CertificateAuthority,
  sans: Map<string, readonly string[]>,
): Promise<{ genuine: string; hijacked: string; votingReceived: number; sanMismatches: number }> {
  const emojiApp = await startEchoApp();
  const votingApp = await startEchoApp();
  const emoji = await startProxy(
    { podPorts: "8080" },
    await podDir(root, "emoji", await issuePod(ca, sans.get("emoji")!)),
    { upstreamPorts: new Map([[8080, emojiApp.port]]) },
  );
  const voting = await startProxy(
    { podPorts: "8080" },
    await podDir(root, "voting", await issuePod(ca, sans.get("voting")!)),
    { upstreamPorts: new Map([[8080, votingApp.port]]) },
  );
  const webDir = await podDir(root, "web", await issuePod(ca, sans.get("web")!));
  const genuineAt = `127.0.0.1:${await freePort()}`;
  const hijackedAt = `127.0.0.1:${await freePort()}`;
  const to = (server: typeof emoji) => (host: string, port: number) => {
    assert.equal(`${host}:${port}`, "emoji-svc:8080");
    return { host: "127.0.0.1", port: inboundPort(server, "port-8080") };
  };
  const genuineClient = await startProxy(
    { ingress: "DISABLED", egress: `emoji#${genuineAt}#emoji-svc:8080` },
    webDir,
    { resolve: to(emoji) },
  );
  const hijackedClient = await startProxy(
    { ingress: "DISABLED", egress: `emoji#${hijackedAt}#emoji-svc:8080` },
    webDir,
    { resolve: to(voting) },
  );
  try {
    const exchange = (at: string) => {
      const [h, p] = at.split(":");
      return plainExchange(h!, Number(p), "vote for :doughnut:");
    };
    return {
      genuine: await exchange(genuineAt),
      hijacked: await exchange(hijackedAt),
      votingReceived: votingApp.received!(),
      sanMismatches: hijackedClient.metrics.get("meshproxy_handshake_failures_total", {
        direction: "egress",
        listener: "emoji",
        reason: "san_mismatch",
      }),
    };
  } finally {
    for (const p of [genuineClient, hijackedClient, emoji, voting]) await p.close();
    await emojiApp.close();
    await votingApp.close();
  }
}

meshTest(
  "egress with generate's default SANs: emoji's certificate serves emoji-svc, voting's is refused",
  async (root) => {
    const sans = await exampleSans(false);
    assert.ok(sans.get("emoji")!.includes("emoji-svc"), JSON.stringify([...sans]));
    assert.ok(!sans.get("voting")!.includes("emoji-svc"));
    assert.ok([...sans.values()].every((s) => !s.includes("*")), "no wildcard by default");
    const r = await dialEmojiSvc(root, await meshAuthority(), sans);
    assert.equal(r.genuine, "vote for :doughnut:");
    assert.equal(r.hijacked, "", "nothing comes back from the wrong workload");
    assert.equal(r.votingReceived, 0, "no byte reached voting's application");
    assert.equal(r.sanMismatches, 1);
  },
);

meshTest(
  "egress with generate --san-wildcard: voting's certificate passes for emoji-svc (the old default's hole)",
  async (root) => {
    const sans = await exampleSans(true);
    assert.ok([...sans.values()].every((s) => s.at(-1) === "*"), JSON.stringify([...sans]));
    const r = await dialEmojiSvc(root, await meshAuthority(), sans);
    assert.equal(r.genuine, "vote for :doughnut:");
    assert.equal(r.hijacked, "vote for :doughnut:", "the wildcard lets voting serve emoji-svc");
    assert.ok(r.votingReceived > 0);
    assert.equal(r.sanMismatches, 0);
  },
);
