import assert from "node:assert/strict";
import {
  ENV_SOURCES,
  INBOUND_PORT_BASE,
  MeshConfigError,
  parseEgressConfig,
  parseIngressConfig,
  parseMeshConfig,
} from "../../protocol/mesh_config.ts";

const ING = "contrast.edgeless.systems/servicemesh-ingress";
const EGR = "contrast.edgeless.systems/servicemesh-egress";

Deno.test("ingress: default, DISABLED and Contrast's exception entries", () => {
  assert.deepEqual(parseIngressConfig(undefined, ING), { enabled: true, exceptions: [] });
  assert.deepEqual(parseIngressConfig("", ING), { enabled: true, exceptions: [] });
  assert.deepEqual(parseIngressConfig("DISABLED", ING), { enabled: false });
  assert.deepEqual(parseIngressConfig("emoji#8080#false##metrics#8801#true", ING), {
    enabled: true,
    exceptions: [
      { name: "emoji", port: 8080, disableTls: false },
      { name: "metrics", port: 8801, disableTls: true },
    ],
  });
});

Deno.test("ingress: every malformed entry is refused naming the annotation and the entry", () => {
  const cases: [string, RegExp][] = [
    ["web#8080", /entry 1 "web#8080": expected <name>#<port>#<disableTLS>/],
    ["web#8080#yes", /entry 1 "web#8080#yes": disableTLS "yes" must be "true" or "false"/],
    ["web#0#true", /port 0 is outside 1–65535/],
    ["web#65536#true", /port 65536 is outside/],
    ["web#08#true", /port "08" is not a decimal/],
    ["web#80#true##", /entry 2 "": empty entry/],
    ["a#80#true##b#80#false", /entry 2 "b#80#false": port 80 already has entry "a"/],
    ["a#80#true##a#81#false", /entry 2 "a#81#false": name "a" is used twice/],
    ["-x#80#true", /name "-x" must be/],
    ["disabled", /did you mean "DISABLED"/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(() => parseIngressConfig(value, ING), (e: unknown) => {
      assert.ok(e instanceof MeshConfigError, value);
      assert.ok(e.message.startsWith(ING), e.message);
      assert.match(e.message, pattern);
      return true;
    });
  }
});

Deno.test("egress: entries parse; listen IP must be in 127.0.0.0/8", () => {
  assert.deepEqual(
    parseEgressConfig(
      "emoji#127.137.0.1:8081#emoji-svc:8080##db#127.0.0.2:5432#10.0.0.7:5432",
      EGR,
    ),
    [
      {
        name: "emoji",
        listenHost: "127.137.0.1",
        listenPort: 8081,
        remoteHost: "emoji-svc",
        remotePort: 8080,
      },
      {
        name: "db",
        listenHost: "127.0.0.2",
        listenPort: 5432,
        remoteHost: "10.0.0.7",
        remotePort: 5432,
      },
    ],
  );
  const cases: [string, RegExp][] = [
    ["a#10.0.0.1:80#b:80", /listen IP "10.0.0.1" must be an IPv4 address in 127.0.0.0\/8/],
    ["a#0.0.0.0:80#b:80", /must be an IPv4 address in 127/],
    ["a#127.0.0.256:80#b:80", /must be an IPv4 address/],
    ["a#127.0.0.1#b:80", /listen address "127.0.0.1" must be <host>:<port>/],
    ["a#127.0.0.1:80#b", /remote address "b" must be <host>:<port>/],
    ["a#127.0.0.1:80#b_c:80", /remote host "b_c" is neither/],
    // Addresses in other spellings: resolvers read them as IPv4 (010 octal, 10.1 = 10.0.0.1), the
    // egress would compare them as DNS names (before, accepted as such).
    ["a#127.0.0.1:80#010.0.0.1:80", /remote host "010.0.0.1" is neither/],
    ["a#127.0.0.1:80#10.1:80", /remote host "10.1" is neither/],
    ["a#127.0.0.1:80#10.0.0.1.:80", /remote host "10.0.0.1." is neither/],
    ["a#127.0.0.1:80#0x7f.1:80", /remote host "0x7f.1" is neither/],
    ["a#127.0.0.1:80#b:99999", /outside 1–65535/],
    ["a#127.0.0.1:80", /3 fields/],
    ["a#127.0.0.1:80#b:80##c#127.0.0.1:80#d:80", /entry 2 .*already has entry "a"/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(() => parseEgressConfig(value, EGR), (e: unknown) => {
      assert.ok(e instanceof MeshConfigError, value);
      assert.ok(e.message.startsWith(`${EGR} entry`), e.message);
      assert.match(e.message, pattern);
      return true;
    });
  }
});

Deno.test("whole config: modes per port, listener ports, admin port excluded, cross-checks", () => {
  const c = parseMeshConfig({
    ingress: "metrics#8801#true##web#8080#false",
    egress: "emoji#127.137.0.1:8081#emoji-svc:8080",
    admin: "9901",
    podPorts: "9000,8080,8801,9901",
  }, ENV_SOURCES);
  assert.deepEqual(c.inbound, [
    { port: 8080, mode: "tls", name: "web", listenerPort: INBOUND_PORT_BASE },
    { port: 9000, mode: "mtls", name: "port-9000", listenerPort: INBOUND_PORT_BASE + 1 },
  ]);
  assert.deepEqual(c.plainPorts, [8801]);
  assert.equal(c.adminPort, 9901);
  const disabled = parseMeshConfig({ ingress: "DISABLED", podPorts: "8080" }, ENV_SOURCES);
  assert.deepEqual(disabled.inbound, []);
  assert.throws(
    () => parseMeshConfig({ ingress: "a#9901#true", admin: "9901" }, ENV_SOURCES),
    /EDG_ADMIN_PORT: port 9901 is also ingress entry "a"/,
  );
  assert.throws(
    () => parseMeshConfig({ egress: "a#127.0.0.1:9901#b:1", admin: "9901" }, ENV_SOURCES),
    /also the listen port of egress entry "a"/,
  );
  assert.throws(
    () => parseMeshConfig({ podPorts: "15100" }, ENV_SOURCES),
    /CONTRAST_MESH_POD_PORTS: port 15100 \(port-15100\) lies in the proxy's reserved range/,
  );
  assert.throws(() => parseMeshConfig({ admin: "x" }, ENV_SOURCES), /EDG_ADMIN_PORT: port "x"/);
});

Deno.test("whole config: an egress listen port the filter admits from outside is refused", () => {
  // A plain (`true`) ingress port: the filter admits it from outside, so a host routing
  // 127.0.0.0/8 (route_localnet=1) would reach an egress listener on it. Fails before the check.
  assert.throws(
    () =>
      parseMeshConfig({
        ingress: "metrics#8801#true",
        egress: "db#127.0.0.2:5432#db:5432##m#127.0.0.3:8801#m:80",
        podPorts: "8080",
      }, ENV_SOURCES),
    (e: unknown) => {
      assert.ok(e instanceof MeshConfigError);
      assert.equal(e.field, 'EDG_EGRESS_PROXY_CONFIG entry 2 "m#127.0.0.3:8801#m:80"');
      assert.match(
        e.message,
        /listen port 8801 is also ingress entry "metrics" of EDG_INGRESS_PROXY_CONFIG, which the ingress passes through in plain/,
      );
      return true;
    },
  );
  // A port of the proxy's inbound listeners (the reserved range, admitted from outside).
  for (const port of [INBOUND_PORT_BASE, INBOUND_PORT_BASE + 99]) {
    assert.throws(
      () => parseMeshConfig({ egress: `a#127.0.0.2:${port}#b:1`, podPorts: "8080" }, ENV_SOURCES),
      new RegExp(
        `^MeshConfigError: EDG_EGRESS_PROXY_CONFIG entry 1 "a#127\\.0\\.0\\.2:${port}#b:1": listen port ${port} ` +
          "lies in the proxy's reserved range 15100–15199",
      ),
    );
  }
  // The admin port (checked with the admin source named) and a second egress entry on the same
  // address, in the whole config as in the egress parser.
  assert.throws(
    () => parseMeshConfig({ egress: "a#127.0.0.2:9901#b:1", admin: "9901" }, ENV_SOURCES),
    /^MeshConfigError: EDG_ADMIN_PORT: port 9901 is also the listen port of egress entry "a"/,
  );
  assert.throws(
    () => parseMeshConfig({ egress: "a#127.0.0.2:80#b:1##c#127.0.0.2:80#d:1" }, ENV_SOURCES),
    /^MeshConfigError: EDG_EGRESS_PROXY_CONFIG entry 2 "c#127\.0\.0\.2:80#d:1": listen address 127\.0\.0\.2:80 already has entry "a"/,
  );
  // The admin port and a plain or TLS ingress entry.
  for (const ingress of ["a#9901#true", "a#9901#false"]) {
    assert.throws(
      () => parseMeshConfig({ ingress, admin: "9901" }, ENV_SOURCES),
      /^MeshConfigError: EDG_ADMIN_PORT: port 9901 is also ingress entry "a" of EDG_INGRESS_PROXY_CONFIG/,
    );
  }
});

Deno.test("whole config: egress ports that reach nothing from outside still pass", () => {
  const c = parseMeshConfig({
    // 8080 is terminated (redirected to the proxy's listener whatever the destination address),
    // 8443 is TLS without a client certificate (also redirected); two egress entries share a port
    // on two addresses (emojivoto's web does that).
    ingress: "web#8443#false##metrics#8801#true",
    egress: "a#127.0.0.2:8080#a:80##b#127.0.0.3:8080#b:80##c#127.0.0.4:8443#c:80",
    admin: "9901",
    podPorts: "8080,8443,8801",
  }, ENV_SOURCES);
  assert.deepEqual(c.egress.map((e) => `${e.listenHost}:${e.listenPort}`), [
    "127.0.0.2:8080",
    "127.0.0.3:8080",
    "127.0.0.4:8443",
  ]);
  assert.deepEqual(c.plainPorts, [8801]);
  // With ingress DISABLED there are no exceptions (and no rules): the port is nobody's.
  const disabled = parseMeshConfig(
    { ingress: "DISABLED", egress: "m#127.0.0.2:8801#m:80" },
    ENV_SOURCES,
  );
  assert.equal(disabled.egress.length, 1);
});

Deno.test("egress SANs: each entry's qualified SAN reaches its egress entry; every malformed value is refused naming the variable and the entry", async () => {
  const { EGRESS_SANS_ENV, encodeEgressSans, parseEgressSans } = await import(
    "../../protocol/mesh_config.ts"
  );
  const egress = "db#127.0.0.2:5432#db:5432##api#127.0.0.3:443#api.example.com:443";
  const config = parseMeshConfig(
    { ingress: "DISABLED", egress, egressSans: "db#DB.web.svc.cluster.local" },
    ENV_SOURCES,
  );
  assert.equal(config.egress[0]!.expectedSan, "db.web.svc.cluster.local");
  assert.equal(config.egress[1]!.expectedSan, undefined, "an entry without one: its remote host");
  assert.deepEqual(parseEgressSans(undefined, EGRESS_SANS_ENV), []);
  assert.deepEqual(parseEgressSans("", EGRESS_SANS_ENV), []);
  const sans = [{ entry: "db", san: "db.web.svc.cluster.local" }, { entry: "x", san: "x.a" }];
  assert.deepEqual(parseEgressSans(encodeEgressSans(sans), EGRESS_SANS_ENV), sans);
  assert.equal(encodeEgressSans([]), undefined);
  const cases: [string, RegExp][] = [
    [
      "db",
      /CONTRAST_MESH_EGRESS_SANS entry 1 "db": expected <name>#<san> \(2 fields separated by '#'\), got 1/,
    ],
    ["db#a#b", /entry 1 "db#a#b": expected <name>#<san> .* got 3/],
    ["-db#db.web", /entry 1 "-db#db\.web": name "-db" must be/],
    ["db#", /entry 1 "db#": SAN "" is no DNS name/],
    ["db#db..web", /SAN "db\.\.web" is no DNS name/],
    ["db#db.web.", /SAN "db\.web\." is no DNS name/],
    ["db#10.0.0.1", /SAN "10\.0\.0\.1" is no DNS name/],
    ["db#a.b##db#c.d", /entry 2 "db#c\.d": name "db" is used twice/],
    ["db#a.b####x#c.d", /entry 2 "": empty entry/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(
      () => parseEgressSans(value, EGRESS_SANS_ENV),
      (e: unknown) => e instanceof MeshConfigError && pattern.test(e.message),
      value,
    );
  }
  assert.throws(
    () => parseMeshConfig({ egress, egressSans: "web#web.shop.svc.cluster.local" }, ENV_SOURCES),
    (e: unknown) =>
      e instanceof MeshConfigError && e.field === EGRESS_SANS_ENV &&
      /entry "web" names no egress entry of EDG_EGRESS_PROXY_CONFIG/.test(e.message),
  );
});
