/**
 * A TCP port that was free a moment ago, picked at random below the kernel's ephemeral range
 * (`net.ipv4.ip_local_port_range`, 32768–60999 by default) so that the kernel does not hand it
 * to an outgoing connection or a port-0 listener before the caller binds it: with the kernel's
 * own pick for port 0, six test suites at once took it that way (AddrInUse when a proxy
 * listened on it). Free means bindable on every IPv4 address. Another process may still take it
 * before the caller binds it; tests that start other processes on it must expect that. Falls
 * back to the kernel's pick when the ephemeral range starts lower than usual.
 */
export function freePort(): number {
  const [low, high] = [21_000, 29_999];
  if (ephemeralRangeStart() > high) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = low + Math.floor(Math.random() * (high - low + 1));
      try {
        Deno.listen({ hostname: "0.0.0.0", port }).close();
        return port;
      } catch { /* taken: another one */ }
    }
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The first port of the kernel's ephemeral range (0 when it cannot be read). */
function ephemeralRangeStart(): number {
  try {
    const text = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range");
    return Number(text.trim().split(/\s+/)[0]) || 0;
  } catch {
    return 0;
  }
}
