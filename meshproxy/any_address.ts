/**
 * Listening on every address of the pod, IPv4 and IPv6: a pod with an IPv6 address gets mesh
 * connections over IPv6 too (transparent mode redirects them with the same rules, for both
 * families), so the inbound listeners must accept both.
 *
 * `[::]` is bound first; on Linux it also takes IPv4 (as `::ffff:a.b.c.d`) unless the network
 * namespace binds IPv6 sockets to IPv6 only (`net.ipv6.bindv6only=1`), so `0.0.0.0` is then bound
 * on the same port: success means the second socket serves IPv4; `EADDRINUSE` there means `[::]`
 * already covers IPv4 only when the namespace's `bindv6only` reads 0, otherwise another process
 * holds the IPv4 port (it would get the mesh's IPv4 traffic in plain), so that fails. (`node:net`'s `ipv6Only` option cannot be used instead: Deno
 * ignores it, measured: a `[::]` listener with `ipv6Only: true` accepted `127.0.0.1`.) A kernel
 * without IPv6 gets `0.0.0.0` alone.
 *
 * @module
 */
import net from "node:net";

/** The listen host that means "every IPv4 and IPv6 address". */
export const ANY_ADDRESS = "any";

/** Where a set of servers listens. */
interface Listening<S extends net.Server> {
  /** The servers that listen (one dual-stack, or IPv6 and IPv4, or IPv4 alone). */
  readonly servers: readonly S[];
  readonly port: number;
  /** `[::]:port`, `[::]+0.0.0.0:port` or `0.0.0.0:port`. */
  readonly label: string;
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

/** Listens `server` on `host:port`; resolves with the port it got. */
export function listenOn(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closed(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Whether a `[::]` listener of this network namespace also takes IPv4 (`net.ipv6.bindv6only` is
 * 0), found by a probe rather than by reading the setting (Deno allows no read below /proc without
 * --allow-all, and the proxy image runs with narrowed permissions): a fresh `[::]` listener on an
 * ephemeral port, and a connection to it from `127.0.0.1`. False when the probe cannot listen or
 * connect, so a caller fails closed.
 */
export async function ipv6ListenerTakesIpv4(): Promise<boolean> {
  const probe = net.createServer((socket) => socket.destroy());
  try {
    await listenOn(probe, 0, "::");
  } catch {
    return false;
  }
  try {
    const port = (probe.address() as net.AddressInfo).port;
    return await new Promise<boolean>((resolve) => {
      const client = net.connect({ host: "127.0.0.1", port }, () => {
        client.destroy();
        resolve(true);
      });
      client.once("error", () => resolve(false));
    });
  } finally {
    await closed(probe);
  }
}

/** The error for an IPv4 port that another process holds while `[::]` does not cover IPv4. */
export function ipv4PortHeldError(port: number): Error {
  return new Error(
    `0.0.0.0:${port} is held by another process and [::]:${port} does not take IPv4 ` +
      `(net.ipv6.bindv6only is not 0): IPv4 mesh traffic would reach it without mutual TLS`,
  );
}

/** Codes of a kernel (or namespace) without IPv6. */
const NO_IPV6 = new Set(["EAFNOSUPPORT", "EADDRNOTAVAIL"]);

/**
 * Listens on every IPv4 and IPv6 address at `port` (0: an ephemeral port, the same for both
 * families), with servers made by `newServer`.
 */
export async function listenEverywhere<S extends net.Server>(
  newServer: () => S,
  port: number,
  takesIpv4: () => Promise<boolean> = ipv6ListenerTakesIpv4,
): Promise<Listening<S>> {
  const v6 = newServer();
  let bound: number;
  try {
    bound = await listenOn(v6, port, "::");
  } catch (error) {
    if (!NO_IPV6.has(errorCode(error) ?? "")) throw error;
    const v4 = newServer();
    const only = await listenOn(v4, port, "0.0.0.0");
    return { servers: [v4], port: only, label: `0.0.0.0:${only}` };
  }
  const v4 = newServer();
  try {
    await listenOn(v4, bound, "0.0.0.0");
  } catch (error) {
    if (errorCode(error) === "EADDRINUSE" && await takesIpv4()) {
      return { servers: [v6], port: bound, label: `[::]:${bound}` };
    }
    await closed(v6);
    throw errorCode(error) === "EADDRINUSE" ? ipv4PortHeldError(bound) : error;
  }
  return { servers: [v6, v4], port: bound, label: `[::]+0.0.0.0:${bound}` };
}
