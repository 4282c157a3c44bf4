/**
 * A loopback TCP port that was free a moment ago (the kernel's pick for port 0). Another process
 * may take it before the caller binds it; tests that start other processes on it must expect that.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
