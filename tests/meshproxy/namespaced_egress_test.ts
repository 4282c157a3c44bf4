/**
 * Same-named Services in two namespaces, served by real mesh proxies with the certificates and
 * sidecar configuration `contrast generate` writes: a client of namespace `web` dialling `db`
 * reaches Service `db` of `web`. Both workloads carry the short name `db` as a SAN (it is every
 * namespace's), so before, a host that pointed the client's `db` at namespace `shop`'s workload
 * had it accepted; now the client's proxy compares `db.web.svc.cluster.local`
 * (`CONTRAST_MESH_EGRESS_SANS`), which only `web`'s workload carries.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { withTempDir } from "../helpers/temp_dir.ts";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { inboundPort, plainExchange, podDir, startEchoApp, startProxy } from "./helpers.ts";
import { freePort } from "../helpers/free_port.ts";
import { generate } from "../../deploy/generate.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { testGenerateOptions } from "../deploy/generate_options.ts";
import { EGRESS_SANS_ENV } from "../../protocol/mesh_config.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const EGRESS = "db#127.0.0.2:5432#db:5432";

const service = (namespace: string) =>
  `apiVersion: v1
kind: Service
metadata: {name: db, namespace: ${namespace}}
spec: {selector: {app: db}, ports: [{port: 5432}]}
`;
const pod = (namespace: string, name: string, annotation: string, labels: string) =>
  `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: ${labels}
  annotations: {${annotation}}
spec:
  runtimeClassName: contrast-cc
  containers: [{name: ${name}-${namespace}, image: "127.0.0.1:5000/web:1.0", ports: [{containerPort: 5432}]}]
`;
const INPUT = [
  service("shop"),
  service("web"),
  pod("shop", "db", '"contrast.edgeless.systems/servicemesh-ingress": ""', "{app: db}"),
  pod("web", "db", '"contrast.edgeless.systems/servicemesh-ingress": ""', "{app: db}"),
  pod(
    "web",
    "client",
    `"contrast.edgeless.systems/servicemesh-ingress": "DISABLED", ` +
      `"contrast.edgeless.systems/servicemesh-egress": "${EGRESS}"`,
    "{app: client}",
  ),
].join("---\n");

/** generate's SANs by `namespace/name`, and the client sidecar's egress SANs variable. */
async function generated(): Promise<{ sans: Map<string, readonly string[]>; egressSans: string }> {
  const result = await generate([parseYamlFile("app.yml", INPUT)], await testGenerateOptions());
  const sans = new Map<string, readonly string[]>();
  for (const p of result.policies) {
    sans.set(`${p.namespace}/${p.name}`, result.manifest.Policies[p.digest]!.SANs);
  }
  const text = result.files[0]!.text;
  const match = new RegExp(`name: ${EGRESS_SANS_ENV}\\n\\s+value: (.+)`).exec(text);
  assert.ok(match, `no ${EGRESS_SANS_ENV} in the generated YAML:\n${text}`);
  assert.equal(text.split(EGRESS_SANS_ENV).length, 2, "only the client's sidecar has one");
  return { sans, egressSans: match[1]! };
}

Deno.test({
  name:
    "egress to a short name: the client's namespace's Service is reached, the same-named one of another namespace refused",
  ...opts,
  fn: () =>
    withTempDir(async (root) => {
      const { sans, egressSans } = await generated();
      assert.equal(egressSans, "db#db.web.svc.cluster.local");
      assert.ok(sans.get("shop/db")!.includes("db") && sans.get("web/db")!.includes("db"));
      assert.ok(!sans.get("shop/db")!.includes("db.web.svc.cluster.local"));
      const ca = await meshAuthority();
      const shopApp = await startEchoApp();
      const webApp = await startEchoApp();
      const servers = {
        shop: await startProxy(
          { podPorts: "5432" },
          await podDir(root, "shop-db", await issuePod(ca, sans.get("shop/db")!)),
          { upstreamPorts: new Map([[5432, shopApp.port]]) },
        ),
        web: await startProxy(
          { podPorts: "5432" },
          await podDir(root, "web-db", await issuePod(ca, sans.get("web/db")!)),
          { upstreamPorts: new Map([[5432, webApp.port]]) },
        ),
      };
      const clientDir = await podDir(root, "client", await issuePod(ca, sans.get("web/client")!));
      const clients: Awaited<ReturnType<typeof startProxy>>[] = [];
      /** The client's egress with the host pointing `db` at `to`; `sansVar` as the sidecar has it. */
      const dial = async (to: "shop" | "web", sansVar: string | undefined) => {
        const at = `127.0.0.1:${await freePort()}`;
        const client = await startProxy(
          {
            ingress: "DISABLED",
            egress: `db#${at}#db:5432`,
            ...(sansVar === undefined ? {} : { egressSans: sansVar }),
          },
          clientDir,
          {
            resolve: (host, port) => {
              assert.equal(`${host}:${port}`, "db:5432");
              return { host: "127.0.0.1", port: inboundPort(servers[to], "port-5432") };
            },
          },
        );
        clients.push(client);
        const [h, p] = at.split(":");
        const answer = await plainExchange(h!, Number(p), `hello ${to}`);
        const refused = client.metrics.get("meshproxy_handshake_failures_total", {
          direction: "egress",
          listener: "db",
          reason: "san_mismatch",
        });
        return { answer, refused };
      };
      try {
        assert.deepEqual(await dial("web", egressSans), { answer: "hello web", refused: 0 });
        assert.deepEqual(await dial("shop", egressSans), { answer: "", refused: 1 });
        assert.equal(shopApp.received!(), 0, "no byte reached shop's application");
        // Without the variable (the literal name compared, as before) shop's db was accepted.
        assert.deepEqual(await dial("shop", undefined), { answer: "hello shop", refused: 0 });
      } finally {
        for (const p of [...clients, servers.shop, servers.web]) await p.close();
        await shopApp.close();
        await webApp.close();
      }
    }),
});
