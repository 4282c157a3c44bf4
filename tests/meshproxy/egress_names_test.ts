/**
 * How the egress compares the dialled name with the server's SANs, end to end through real
 * proxies (the host decides where a name leads, so every server here is reached whatever the
 * name): an IPv4 remote needs that address as an IP SAN (a DNS SAN, `*` included, or another
 * address is refused); a DNS remote matches case-insensitively and with or without a trailing dot.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { withTempDir } from "../helpers/temp_dir.ts";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { inboundPort, plainExchange, podDir, startEchoApp, startProxy } from "./helpers.ts";
import { freePort } from "../helpers/free_port.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const CASES: readonly {
  readonly label: string;
  readonly sans: readonly string[];
  readonly remote: string;
  readonly served: boolean;
}[] = [
  {
    label: "an IP remote, a certificate with DNS SANs and *",
    sans: ["db", "*"],
    remote: "10.0.0.7",
    served: false,
  },
  {
    label: "an IP remote, another IP SAN",
    sans: ["db", "10.0.0.8"],
    remote: "10.0.0.7",
    served: false,
  },
  { label: "an IP remote, its IP SAN", sans: ["db", "10.0.0.7"], remote: "10.0.0.7", served: true },
  { label: "a DNS remote, only an IP SAN", sans: ["10.0.0.7"], remote: "db", served: false },
  { label: "a DNS remote with a trailing dot", sans: ["db"], remote: "db.", served: true },
  { label: "a DNS remote in capitals", sans: ["db"], remote: "DB", served: true },
  {
    label: "a DNS remote one label below a one-label wildcard",
    sans: ["*.shop"],
    remote: "db.shop",
    served: true,
  },
  {
    label: "a DNS remote two labels below a one-label wildcard",
    sans: ["*.shop"],
    remote: "a.db.shop",
    served: false,
  },
];

for (const { label, sans, remote, served } of CASES) {
  Deno.test({
    name: `egress names: ${label} is ${served ? "served" : "refused"}`,
    ...opts,
    fn: () =>
      withTempDir(async (root) => {
        const ca = await meshAuthority();
        const echo = await startEchoApp();
        const server = await startProxy(
          { podPorts: "7000" },
          await podDir(root, "db", await issuePod(ca, sans)),
          { upstreamPorts: new Map([[7000, echo.port]]) },
        );
        const port = await freePort();
        const client = await startProxy(
          { ingress: "DISABLED", egress: `e#127.0.0.1:${port}#${remote}:7000` },
          await podDir(root, "bot", await issuePod(ca, ["bot"])),
          { resolve: () => ({ host: "127.0.0.1", port: inboundPort(server, "port-7000") }) },
        );
        try {
          const answer = await plainExchange("127.0.0.1", port, "secret");
          const mismatches = client.metrics.get("meshproxy_handshake_failures_total", {
            direction: "egress",
            listener: "e",
            reason: "san_mismatch",
          });
          if (served) {
            assert.equal(answer, "secret");
            assert.equal(mismatches, 0, client.metrics.render());
          } else {
            assert.equal(answer, "");
            assert.equal(echo.received!(), 0, "no byte reached the server's application");
            assert.equal(mismatches, 1, client.metrics.render());
          }
        } finally {
          await client.close();
          await server.close();
          await echo.close();
        }
      }),
  });
}
