import assert from "node:assert/strict";
import {
  applyTransparentRules,
  CHAIN,
  type CommandRunner,
  kernelHasIpv6,
  TransparentModeError,
  transparentPlan,
  transparentRules,
} from "../../meshproxy/iptables.ts";
import {
  ENV_SOURCES,
  MeshConfigError,
  parseMeshConfig,
  withInboundPortBase,
} from "../../protocol/mesh_config.ts";

const PLAN = {
  ingressEnabled: true,
  redirects: [{ port: 8080, listenerPort: 15100 }, { port: 9000, listenerPort: 15101 }],
  plainPorts: [8801],
  adminPort: 9901,
};

Deno.test("transparent rules: redirect each terminated port, admit only the mesh's ports", () => {
  const rules = transparentRules(PLAN);
  assert.equal(
    rules.restore,
    [
      "*nat",
      `:${CHAIN} - [0:0]`,
      `-A ${CHAIN} -p tcp --dport 8080 -j REDIRECT --to-ports 15100`,
      `-A ${CHAIN} -p tcp --dport 9000 -j REDIRECT --to-ports 15101`,
      "COMMIT",
      "*filter",
      `:${CHAIN} - [0:0]`,
      `-A ${CHAIN} -i lo -j RETURN`,
      // the terminated ports themselves, reached without the redirect (connections made before
      // the rules existed): reset, even when connection tracking calls them ESTABLISHED
      `-A ${CHAIN} -p tcp --dport 8080 -j REJECT --reject-with tcp-reset`,
      `-A ${CHAIN} -p tcp --dport 9000 -j REJECT --reject-with tcp-reset`,
      `-A ${CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
      `-A ${CHAIN} -p tcp --dport 15100 -j RETURN`,
      `-A ${CHAIN} -p tcp --dport 15101 -j RETURN`,
      `-A ${CHAIN} -p tcp --dport 8801 -j RETURN`,
      `-A ${CHAIN} -p tcp --dport 9901 -j RETURN`,
      `-A ${CHAIN} -p tcp -j REJECT --reject-with tcp-reset`,
      "COMMIT",
      "",
    ].join("\n"),
  );
  assert.deepEqual(rules.jumps.map((j) => `${j.table}/${j.chain}: ${j.rule.join(" ")}`), [
    `nat/PREROUTING: -p tcp -j ${CHAIN}`,
    `filter/INPUT: -p tcp -j ${CHAIN}`,
  ]);
});

Deno.test("transparent rules: ingress DISABLED installs nothing; plans come from the config", () => {
  assert.deepEqual(transparentRules({ ...PLAN, ingressEnabled: false }), {
    restore: "",
    jumps: [],
  });
  const config = parseMeshConfig(
    { ingress: "web#8080#false##metrics#8801#true", podPorts: "8080,8801,9000", admin: "9901" },
    ENV_SOURCES,
  );
  assert.deepEqual(config.inbound.map((p) => [p.port, p.listenerPort, p.mode]), [
    [8080, 15100, "tls"],
    [9000, 15101, "mtls"],
  ]);
  assert.deepEqual(config.plainPorts, [8801]);
});

/** A recording stand-in for iptables: `present` says which jump checks succeed. */
function recorder(present: boolean, failOn?: string) {
  const calls: string[] = [];
  const run: CommandRunner = (cmd, args, stdin) => {
    calls.push(`${cmd} ${args.join(" ")}${stdin ? ` <<${stdin.split("\n").length} lines` : ""}`);
    if (failOn && cmd === failOn) return Promise.resolve({ code: 4, stderr: "Permission denied" });
    const isCheck = args.includes("-C");
    return Promise.resolve({ code: isCheck && !present ? 1 : 0, stderr: "" });
  };
  return { calls, run };
}

Deno.test("apply: restore without flushing, then insert each jump once, for IPv4 and IPv6", async () => {
  const fresh = recorder(false);
  await applyTransparentRules(PLAN, { run: fresh.run, ipv6: true });
  assert.deepEqual(fresh.calls, [
    "iptables-restore --noflush <<18 lines",
    `iptables -t nat -C PREROUTING -p tcp -j ${CHAIN}`,
    `iptables -t nat -I PREROUTING 1 -p tcp -j ${CHAIN}`,
    `iptables -t filter -C INPUT -p tcp -j ${CHAIN}`,
    `iptables -t filter -I INPUT 1 -p tcp -j ${CHAIN}`,
    "ip6tables-restore --noflush <<18 lines",
    `ip6tables -t nat -C PREROUTING -p tcp -j ${CHAIN}`,
    `ip6tables -t nat -I PREROUTING 1 -p tcp -j ${CHAIN}`,
    `ip6tables -t filter -C INPUT -p tcp -j ${CHAIN}`,
    `ip6tables -t filter -I INPUT 1 -p tcp -j ${CHAIN}`,
  ]);
  const again = recorder(true);
  await applyTransparentRules(PLAN, { run: again.run, ipv6: false });
  assert.ok(!again.calls.some((c) => c.includes(" -I ")), "present jumps are not added twice");
});

Deno.test("apply: a failing iptables-restore (no CAP_NET_ADMIN) is a TransparentModeError", async () => {
  const failing = recorder(false, "iptables-restore");
  await assert.rejects(
    applyTransparentRules(PLAN, { run: failing.run, ipv6: false }),
    (e: unknown) =>
      e instanceof TransparentModeError && /iptables-restore: failed \(exit 4\)/.test(e.message),
  );
  const v6 = recorder(false, "ip6tables-restore");
  await assert.rejects(
    applyTransparentRules(PLAN, { run: v6.run, ipv6: true }),
    /ip6tables-restore: failed/,
  );
});

Deno.test("IPv6 detection: a bound [::] socket means IPv6, EAFNOSUPPORT means none", () => {
  const bound: string[] = [];
  assert.equal(
    kernelHasIpv6(({ hostname, port }) => {
      bound.push(`[${hostname}]:${port}`);
      return { close: () => bound.push("closed") };
    }),
    true,
  );
  assert.deepEqual(bound, ["[::]:0", "closed"]);
  assert.equal(
    kernelHasIpv6(() => {
      throw new Error("Address family not supported by protocol (os error 97)");
    }),
    false,
  );
  // Whatever this kernel has, the real probe answers without needing any read permission.
  assert.equal(typeof kernelHasIpv6(), "boolean");
});

Deno.test("IPv6 detection fails closed: any other probe failure is a TransparentModeError", () => {
  for (
    const error of [
      new Deno.errors.NotCapable('Requires net access to "[::]:0"'),
      new Error("Too many open files (os error 24)"),
    ]
  ) {
    assert.throws(
      () =>
        kernelHasIpv6(() => {
          throw error;
        }),
      (e: unknown) =>
        e instanceof TransparentModeError && e.message.includes("refusing to leave IPv6") &&
        e.message.includes(error.message),
    );
  }
});

Deno.test("transparent rules: a non-default inbound port base redirects to the ports the listeners bind", () => {
  const config = withInboundPortBase(
    parseMeshConfig(
      { ingress: "web#8080#false##metrics#8801#true", podPorts: "8080,8801,9000", admin: "9901" },
      ENV_SOURCES,
    ),
    20000,
    "--inbound-port-base",
  );
  assert.deepEqual(config.inbound.map((p) => [p.port, p.listenerPort]), [[8080, 20000], [
    9000,
    20001,
  ]]);
  const restore = transparentRules(transparentPlan(config)).restore;
  // Before, the rules redirected to 15100+i while the listeners bound base+i.
  assert.match(
    restore,
    new RegExp(`-A ${CHAIN} -p tcp --dport 8080 -j REDIRECT --to-ports 20000\n`),
  );
  assert.match(
    restore,
    new RegExp(`-A ${CHAIN} -p tcp --dport 9000 -j REDIRECT --to-ports 20001\n`),
  );
  assert.match(restore, new RegExp(`-A ${CHAIN} -p tcp --dport 20000 -j RETURN\n`));
  assert.match(restore, new RegExp(`-A ${CHAIN} -p tcp --dport 20001 -j RETURN\n`));
  assert.doesNotMatch(restore, /1510[0-9]/);
});

Deno.test("inbound port base: a range holding a port the pod uses, or past 65535, is refused naming the flag", () => {
  const config = parseMeshConfig(
    {
      ingress: "metrics#8801#true",
      egress: "db#127.0.0.2:5432#db:5432",
      podPorts: "8080,9000,8801",
      admin: "9901",
    },
    ENV_SOURCES,
  );
  const cases: [number, RegExp][] = [
    [8079, /ports 8079–8080 include the pod port 8080 \(port-8080\)/],
    [8800, /ports 8800–8801 include the plain ingress port 8801/],
    [9900, /ports 9900–9901 include the admin port 9901/],
    [5431, /ports 5431–5432 include the listen port 5432 of egress entry "db"/],
    [65535, /65535 does not leave room for 2 listener ports/],
  ];
  for (const [base, message] of cases) {
    assert.throws(
      () => withInboundPortBase(config, base, "--inbound-port-base"),
      (e: unknown) => {
        assert.ok(e instanceof MeshConfigError);
        assert.equal(e.field, "--inbound-port-base");
        assert.match(e.message, message);
        return true;
      },
    );
  }
  // Next to the pod's ports but not on them: accepted.
  assert.deepEqual(
    withInboundPortBase(config, 9001, "--inbound-port-base").inbound.map((p) => p.listenerPort),
    [9001, 9002],
  );
});
