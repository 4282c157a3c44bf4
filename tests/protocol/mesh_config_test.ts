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
