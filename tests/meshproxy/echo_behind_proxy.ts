/**
 * The usual server side of a mesh proxy test: an echo app behind a proxy that terminates mutual
 * TLS for pod port 7000 and forwards it to the app.
 *
 * @module
 */
import type { MeshProxyOptions } from "../../meshproxy/proxy.ts";
import type { RawMeshConfig } from "../../protocol/mesh_config.ts";
import { inboundPort, startEchoApp, startProxy } from "./helpers.ts";

/**
 * Starts an echo app and a proxy for the pod files in `dir` with `podPorts: "7000"` (and `raw`),
 * port 7000 forwarded to the app (and `extra` options). `port` is the proxy's inbound port for
 * pod port 7000; `close` stops the proxy, then the app.
 */
export async function echoBehindProxy(
  dir: string,
  raw: RawMeshConfig = {},
  extra: Partial<MeshProxyOptions> = {},
) {
  const echo = await startEchoApp();
  try {
    const proxy = await startProxy({ podPorts: "7000", ...raw }, dir, {
      upstreamPorts: new Map([[7000, echo.port]]),
      ...extra,
    });
    return {
      echo,
      proxy,
      port: inboundPort(proxy, "port-7000"),
      close: async () => {
        await proxy.close();
        await echo.close();
      },
    };
  } catch (error) {
    await echo.close();
    throw error;
  }
}
