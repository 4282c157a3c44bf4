import assert from "node:assert/strict";
import {
  deriveSans,
  MAX_PER_POD_ORDINALS,
  parseExtraSans,
  replacedSansWarnings,
  type SanService,
  type SanWorkload,
  WILDCARD_SAN,
} from "../../deploy/workload_sans.ts";

const DOMAIN = "cluster.local";

function workload(
  name: string,
  labels: Record<string, unknown>,
  more: Partial<SanWorkload> = {},
): SanWorkload {
  return {
    location: `app.yml[${name}]`,
    kind: "Deployment",
    namespace: "shop",
    name,
    podMetadata: { labels },
    podSpec: {},
    resourceSpec: {},
    egressHosts: [],
    ...more,
  };
}

function service(
  name: string,
  spec: Record<string, unknown>,
  namespace = "shop",
): SanService {
  return { namespace, name, spec };
}

function forms(name: string, namespace = "shop"): string[] {
  return [
    name,
    `${name}.${namespace}`,
    `${name}.${namespace}.svc`,
    `${name}.${namespace}.svc.${DOMAIN}`,
  ];
}

Deno.test("a workload gets its name and the four DNS names of each Service selecting its pods", () => {
  const { sans, warnings } = deriveSans(
    [workload("web", { app: "web", tier: "front" }), workload("db", { app: "db" })],
    [
      // A subset of the pod's labels selects it.
      service("web-svc", { selector: { app: "web" } }),
      // A second Service selecting the same pods adds its names too.
      service("web-internal", { selector: { app: "web", tier: "front" } }),
      service("db", { selector: { app: "db" } }),
    ],
    DOMAIN,
  );
  assert.deepEqual(sans[0], ["web", ...forms("web-svc"), ...forms("web-internal")]);
  // The workload's name is not repeated when a Service has it too.
  assert.deepEqual(sans[1], forms("db"));
  assert.deepEqual(warnings, []);
});

Deno.test("Services select by the pod template's labels only: not the workload's own labels or selector", () => {
  const w = workload("web", { app: "web" }, {
    // As in a Deployment whose metadata.labels and spec.selector.matchLabels differ from what the
    // Service selects: only the template's labels count.
    resourceSpec: { selector: { matchLabels: { app: "web", track: "stable" } } },
  });
  const { sans } = deriveSans(
    [w],
    [
      service("by-template", { selector: { app: "web" } }),
      service("by-selector", { selector: { track: "stable" } }),
      service("value-differs", { selector: { app: "Web" } }),
      service("more-labels", { selector: { app: "web", tier: "front" } }),
    ],
    DOMAIN,
  );
  assert.deepEqual(sans[0], ["web", ...forms("by-template")]);
});

Deno.test("Services of other namespaces, without a selector, with an empty one, and ExternalName ones name nobody", () => {
  const { sans } = deriveSans(
    [workload("web", { app: "web" })],
    [
      service("elsewhere", { selector: { app: "web" } }, "other"),
      service("no-selector", { ports: [{ port: 80 }] }),
      service("empty-selector", { selector: {} }),
      service("external", {
        type: "ExternalName",
        externalName: "web.example.com",
        selector: { app: "web" },
      }),
      // A malformed selector (not a map of strings) selects nothing.
      service("bad-selector", { selector: { matchLabels: { app: "web" } } }),
    ],
    DOMAIN,
  );
  assert.deepEqual(sans[0], ["web"]);
});

Deno.test("the cluster domain ends the fully qualified names", () => {
  const { sans } = deriveSans(
    [workload("web", { app: "web" })],
    [service("web-svc", { selector: { app: "web" } })],
    "corp.example",
  );
  assert.equal(sans[0]!.at(-1), "web-svc.shop.svc.corp.example");
});

Deno.test("a StatefulSet's pods get their own names under its headless governing Service", () => {
  const set = workload("store", { app: "store" }, {
    kind: "StatefulSet",
    resourceSpec: { serviceName: "store", replicas: 2, ordinals: { start: 3 } },
  });
  const { sans } = deriveSans(
    [set],
    [service("store", { clusterIP: "None", selector: { app: "store" } })],
    DOMAIN,
  );
  assert.deepEqual(sans[0], [
    ...forms("store"),
    ...forms("store-3.store"),
    ...forms("store-4.store"),
  ]);
  // replicas omitted: one pod; a governing Service that is not headless: no per-pod names.
  const one = deriveSans(
    [{ ...set, resourceSpec: { serviceName: "store" } }],
    [service("store", { clusterIP: "None", selector: { app: "store" } })],
    DOMAIN,
  );
  assert.deepEqual(one.sans[0], [...forms("store"), ...forms("store-0.store")]);
  const notHeadless = deriveSans(
    [set],
    [service("store", { selector: { app: "store" } })],
    DOMAIN,
  );
  assert.deepEqual(notHeadless.sans[0], forms("store"));
  // A governing Service that does not select the pods (no DNS records for them): none either.
  const notSelecting = deriveSans(
    [set],
    [service("store", { clusterIP: "None", selector: { app: "other" } })],
    DOMAIN,
  );
  assert.deepEqual(notSelecting.sans[0], ["store"]);
});

Deno.test("a StatefulSet with more replicas than the per-pod bound gets the first ones and a warning", () => {
  const { sans, warnings } = deriveSans(
    [workload("store", { app: "store" }, {
      kind: "StatefulSet",
      resourceSpec: { serviceName: "store", replicas: MAX_PER_POD_ORDINALS + 1 },
    })],
    [service("store", { clusterIP: "None", selector: { app: "store" } })],
    DOMAIN,
  );
  assert.equal(sans[0]!.length, 4 + 4 * MAX_PER_POD_ORDINALS);
  assert.ok(sans[0]!.includes(`store-${MAX_PER_POD_ORDINALS - 1}.store`));
  assert.ok(!sans[0]!.includes(`store-${MAX_PER_POD_ORDINALS}.store`));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /has 65 replicas; .* store-0 to store-63 under store only/);
});

Deno.test("a pod with hostname and subdomain gets its name under that headless Service", () => {
  const pod = workload("p", { app: "p" }, {
    kind: "Pod",
    podSpec: { hostname: "leader", subdomain: "peers" },
  });
  const { sans } = deriveSans(
    [pod],
    [service("peers", { clusterIP: "None", selector: { app: "p" } })],
    DOMAIN,
  );
  assert.deepEqual(sans[0], ["p", ...forms("peers"), ...forms("leader.peers")]);
});

Deno.test("no SAN is * by default; --san-wildcard appends it to every entry", () => {
  const input = [workload("web", { app: "web" }), workload("lonely", { app: "x" })];
  const services = [service("web-svc", { selector: { app: "web" } })];
  const plain = deriveSans(input, services, DOMAIN);
  assert.ok(plain.sans.every((s) => !s.some((san) => san.includes("*"))), JSON.stringify(plain));
  const wild = deriveSans(input, services, DOMAIN, true);
  assert.deepEqual(wild.sans, plain.sans.map((s) => [...s, WILDCARD_SAN]));
  assert.equal(WILDCARD_SAN, "*");
});

Deno.test("egress targets no workload answers to are warned about; covered ones are not", () => {
  const client = workload("web", { app: "web" }, {
    egressHosts: [
      { entry: "emoji", host: "emoji-svc" },
      { entry: "full", host: "Emoji-Svc.shop.svc.cluster.local." },
      { entry: "byname", host: "emoji" },
      { entry: "nowhere", host: "payments" },
      { entry: "ip", host: "10.0.0.7" },
    ],
  });
  const { warnings } = deriveSans(
    [client, workload("emoji", { app: "emoji" })],
    [service("emoji-svc", { selector: { app: "emoji" } })],
    DOMAIN,
  );
  assert.equal(warnings.length, 2, warnings.join("\n"));
  assert.match(warnings[0]!, /egress entry "nowhere" dials "payments", which no confidential/);
  assert.match(warnings[1]!, /egress entry "ip" dials "10\.0\.0\.7"/);
  assert.match(warnings[0]!, /^app\.yml\[web\]: Deployment shop\/web: /);
  // With --san-wildcard every target is covered (any certificate passes).
  assert.deepEqual(
    deriveSans([client], [], DOMAIN, true).warnings.filter((w) => w.includes("dials")),
    [],
  );
});

Deno.test("a name several workloads share is warned about once per group of workloads", () => {
  const { sans, warnings } = deriveSans(
    [
      workload("stable", { app: "web", track: "stable" }),
      workload("canary", { app: "web", track: "canary" }),
      workload("web", { app: "other" }, { namespace: "other" }),
    ],
    [
      service("web", { selector: { app: "web" } }),
      service("web", { selector: { app: "other" } }, "other"),
    ],
    DOMAIN,
  );
  assert.deepEqual(sans[0], ["stable", ...forms("web")]);
  assert.deepEqual(sans[1], ["canary", ...forms("web")]);
  assert.deepEqual(sans[2], forms("web", "other"));
  assert.equal(warnings.length, 2, warnings.join("\n"));
  // The short name "web" is also the other namespace's workload's: three share it.
  assert.match(
    warnings[0]!,
    /^Deployment shop\/stable .* and Deployment shop\/canary .* and Deployment other\/web .* share the SAN web: /,
  );
  assert.match(
    warnings[1]!,
    /^Deployment shop\/stable .* and Deployment shop\/canary .* share the SANs web\.shop, web\.shop\.svc, web\.shop\.svc\.cluster\.local: /,
  );
});

Deno.test("the extra-sans annotation's names are appended; its * is warned about", () => {
  const { sans, warnings } = deriveSans(
    [
      workload("web", { app: "web" }, { extraSans: ["web.example.com", "10.0.0.5", "web-svc"] }),
      workload("any", { app: "any" }, { extraSans: ["*"] }),
    ],
    [service("web-svc", { selector: { app: "web" } })],
    DOMAIN,
  );
  assert.deepEqual(sans[0], ["web", ...forms("web-svc"), "web.example.com", "10.0.0.5"]);
  assert.deepEqual(sans[1], ["any", "*"]);
  // The wildcard warning, and "any" shares nothing by name (its * is not counted as sharing).
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0]!,
    /^app\.yml\[any\]: Deployment shop\/any: its contrast\.edgeless\.systems\/extra-sans annotation gives it the SAN "\*"/,
  );
});

Deno.test("egress targets covered by extra SANs (an IP, a one-label wildcard) are not warned about", () => {
  const client = workload("web", { app: "web" }, {
    egressHosts: [
      { entry: "ip", host: "10.0.0.7" },
      { entry: "sub", host: "a.db.example" },
      { entry: "deeper", host: "a.b.db.example" },
    ],
  });
  const { warnings } = deriveSans(
    [client, workload("db", { app: "db" }, { extraSans: ["10.0.0.7", "*.db.example"] })],
    [],
    DOMAIN,
  );
  // The wildcard's own warning, and the target one label too deep.
  assert.equal(warnings.length, 2, warnings.join("\n"));
  assert.match(warnings[0]!, /gives it the wildcard SAN "\*\.db\.example"/);
  assert.match(warnings[1]!, /egress entry "deeper" dials "a\.b\.db\.example"/);
});

Deno.test("parseExtraSans: comma-separated DNS names, IPs and URIs; anything else refused", () => {
  assert.deepEqual(parseExtraSans("db.example.com, 10.0.0.5,spiffe://shop/db,db.example.com"), {
    sans: ["db.example.com", "10.0.0.5", "spiffe://shop/db"],
  });
  assert.deepEqual(parseExtraSans("*"), { sans: ["*"] });
  for (
    const [value, reason] of [
      ["", /non-empty string/],
      [" ", /non-empty string/],
      [42, /non-empty string/],
      ["a,,b", /entry 1 is empty/],
      ["db..example", /entry 0: not an IP address, URI or DNS name/],
      ["ok, spiffe://a b", /entry 1: .*URI/],
      ["10.0.0.300", /entry 0: not an IP address, URI or DNS name/],
      ["web, urn:contrast:policy:" + "ab".repeat(32), /entry 1: URIs under urn:contrast: /],
    ] as const
  ) {
    const parsed = parseExtraSans(value);
    assert.ok("error" in parsed, JSON.stringify(value));
    assert.match(parsed.error, reason, JSON.stringify(value));
  }
});

Deno.test("replacedSansWarnings names entries of the existing manifest whose SANs generate replaces", () => {
  const a = "aa".repeat(32);
  const b = "bb".repeat(32);
  const existing = JSON.stringify({
    Policies: {
      [a]: { SANs: ["web", "*"], WorkloadSecretID: "", Role: "" },
      [b]: { SANs: ["db"], WorkloadSecretID: "", Role: "" },
    },
  });
  const written = [
    { digest: a, workload: "Deployment shop/web", sans: ["web", "web-svc"] },
    { digest: a, workload: "ReplicaSet shop/web", sans: ["web", "web-svc"] },
    { digest: b, workload: "StatefulSet shop/db", sans: ["db"] },
    { digest: "cc".repeat(32), workload: "Pod shop/new", sans: ["new"] },
  ];
  const warnings = replacedSansWarnings(existing, "ws/manifest.json", written);
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0]!,
    /^ws\/manifest\.json: the SANs of Deployment shop\/web \(policy aaaaaaaaaaaa…\) were \["web","\*"\] and are now \["web","web-svc"\]: .*extra-sans annotation/,
  );
  assert.deepEqual(replacedSansWarnings(undefined, "m.json", written), []);
  assert.deepEqual(replacedSansWarnings("{not json", "m.json", written), []);
  assert.deepEqual(replacedSansWarnings('{"Policies": []}', "m.json", written), []);
});

Deno.test("an extra-sans wildcard *.rest is warned about and shares the names one label below rest", () => {
  // Before, only "*" was warned about and "*.shop" shared nothing by name: voting's certificate
  // passed the egress check for emoji-svc.shop without a word.
  const { sans, warnings } = deriveSans(
    [
      workload("emoji", { app: "emoji" }),
      workload("voting", { app: "voting" }, { extraSans: ["*.SHOP", "x.shop"] }),
      workload("other", { app: "other" }, { namespace: "other" }),
    ],
    [
      service("emoji-svc", { selector: { app: "emoji" } }),
      service("other-svc", { selector: { app: "other" } }, "other"),
    ],
    DOMAIN,
  );
  assert.deepEqual(sans[1], ["voting", "*.SHOP", "x.shop"]);
  assert.equal(warnings.length, 2, warnings.join("\n"));
  assert.match(
    warnings[0]!,
    /^app\.yml\[voting\]: Deployment shop\/voting: its contrast\.edgeless\.systems\/extra-sans annotation gives it the wildcard SAN "\*\.SHOP": .* every name one label below "SHOP"/,
  );
  // emoji-svc.shop is emoji's and matches voting's *.SHOP (case-insensitively); voting's own
  // x.shop, other namespaces' names and deeper names (emoji-svc.shop.svc) are not shared.
  assert.match(
    warnings[1]!,
    /^Deployment shop\/emoji .* and Deployment shop\/voting .* share the SAN emoji-svc\.shop: a mesh egress to it accepts each of their certificates$/,
  );
});

Deno.test("a Service name, namespace or pod hostname the API server refuses gives no names (a warning)", () => {
  // Before, Service "web.shop" of namespace default gave "web.shop" (the name of Service web of
  // namespace shop), and hostname "web.shop" under Service "svc" gave "web.shop.svc".
  const { sans, warnings } = deriveSans(
    [
      workload("evil", { app: "evil" }, { namespace: "default" }),
      workload("pod", { app: "pod" }, {
        kind: "Pod",
        podSpec: { hostname: "web.shop", subdomain: "svc" },
      }),
      workload("dotted", { app: "dotted" }, { namespace: "a.b" }),
    ],
    [
      service("web.shop", { selector: { app: "evil" } }, "default"),
      service("Upper", { selector: { app: "evil" } }, "default"),
      service("svc", { selector: { app: "pod" }, clusterIP: "None" }),
      service("x", { selector: { app: "dotted" } }, "a.b"),
    ],
    DOMAIN,
  );
  assert.deepEqual(sans[0], ["evil"]);
  assert.deepEqual(sans[1], ["pod", ...forms("svc")]);
  assert.deepEqual(sans[2], ["dotted"]);
  assert.equal(warnings.length, 4, warnings.join("\n"));
  assert.match(warnings[0]!, /^Service "default\/web\.shop": its name is no DNS-1035 label/);
  assert.match(warnings[1]!, /^Service "default\/Upper": its name is no DNS-1035 label/);
  assert.match(warnings[2]!, /^Service "a\.b\/x": its namespace is no DNS-1123 label/);
  assert.match(
    warnings[3]!,
    /^app\.yml\[pod\]: Pod shop\/pod: the pod hostname "web\.shop" is no DNS-1123 label .* names under svc out$/,
  );
});

Deno.test("an egress target is compared by the name the client's resolver asks for first; one nobody answers to is warned about", () => {
  // Before, "db" counted as covered by shop's db: a client of namespace web dialling "db" (its
  // resolver: Service db of namespace web) accepted shop's db wherever the host pointed the name;
  // so did "db-0.db" (from web: Service db-0 of namespace db) for shop's StatefulSet pod db-0.
  // Now the proxy compares the qualified name, which shop's db does not carry.
  const client = (namespace: string, host: string) =>
    workload("client", { app: "client" }, {
      namespace,
      egressHosts: [{ entry: "db", host }],
    });
  const services = [service("db", { selector: { app: "db" }, clusterIP: "None" })];
  const shopDb = workload("db", { app: "db" }, {
    kind: "StatefulSet",
    resourceSpec: { serviceName: "db", replicas: 1 },
  });
  const other = deriveSans([shopDb, client("web", "DB")], services, DOMAIN);
  assert.deepEqual(other.egressSans, [[], [{ entry: "db", san: "db.web.svc.cluster.local" }]]);
  assert.equal(other.warnings.length, 1, other.warnings.join("\n"));
  assert.match(
    other.warnings[0]!,
    /^app\.yml\[client\]: Deployment web\/client: its egress to "DB" expects the SAN db\.web\.svc\.cluster\.local \(the first name the resolver of namespace web asks for\), which no workload of the input carries, so its mesh proxy refuses every server there; StatefulSet shop\/db carries the SAN "db" but the resolver does not reach it by that name: /,
  );
  const pod = deriveSans([shopDb, client("web", "db-0.db")], services, DOMAIN);
  assert.deepEqual(pod.egressSans[1], [{ entry: "db", san: "db-0.db.web.svc.cluster.local" }]);
  assert.equal(pod.warnings.length, 1, pod.warnings.join("\n"));
  assert.match(
    pod.warnings[0]!,
    /its egress to "db-0\.db" expects the SAN db-0\.db\.web\.svc\.cluster\.local /,
  );
  // A holder in web too: the client's proxy expects web's qualified name, which shop's db does
  // not carry; the short name the two share is no warning (each carries its own qualified form).
  const both = deriveSans(
    [shopDb, client("web", "db"), workload("db", { app: "db" }, { namespace: "web" })],
    [...services, service("db", { selector: { app: "db" } }, "web")],
    DOMAIN,
  );
  assert.deepEqual(both.egressSans[1], [{ entry: "db", san: "db.web.svc.cluster.local" }]);
  assert.ok(!both.sans[0]!.includes("db.web.svc.cluster.local"));
  assert.ok(both.sans[2]!.includes("db.web.svc.cluster.local"));
  assert.deepEqual(both.warnings, []);
  // Two workloads behind one Service of one namespace still share every form: warned.
  const twins = deriveSans(
    [workload("a", { app: "db" }), workload("b", { app: "db" })],
    [service("db", { selector: { app: "db" } })],
    DOMAIN,
  );
  assert.equal(twins.warnings.length, 1, twins.warnings.join("\n"));
  assert.match(
    twins.warnings[0]!,
    /share the SANs db, db\.shop, db\.shop\.svc, db\.shop\.svc\.cluster\.local/,
  );
  // A short name one workload carries by extra-sans is shared for real (compared literally).
  const extra = deriveSans(
    [
      workload("db", { app: "db" }, { namespace: "web" }),
      workload("x", { app: "x" }, { extraSans: ["db"] }),
    ],
    [service("db", { selector: { app: "db" } }, "web")],
    DOMAIN,
  );
  assert.ok(extra.warnings.some((w) => /share the SAN db:/.test(w)), extra.warnings.join("\n"));
  // Which names the proxy compares as they are: IP addresses, absolute names, a name that already
  // ends in the cluster domain, names given by extra-sans, a workload's own name in the client's
  // namespace; qualified: the first name the resolver asks for that a workload carries.
  const expected = (namespace: string, host: string, ws: SanWorkload[] = [shopDb]) =>
    deriveSans([...ws, client(namespace, host)], services, DOMAIN).egressSans.at(-1);
  assert.deepEqual(expected("shop", "db"), [{ entry: "db", san: "db.shop.svc.cluster.local" }]);
  assert.deepEqual(expected("web", "db.shop"), [{ entry: "db", san: "db.shop.svc.cluster.local" }]);
  assert.deepEqual(expected("web", "db.shop.svc"), [{
    entry: "db",
    san: "db.shop.svc.cluster.local",
  }]);
  assert.deepEqual(expected("web", "db-0.db.shop.svc.cluster.local"), []);
  assert.deepEqual(expected("web", "db.shop.svc.cluster.local."), []);
  assert.deepEqual(expected("web", "10.0.0.5"), []);
  assert.deepEqual(expected("web", "nobody"), []);
  // A name extra-sans gave another holder by a one-label wildcard is compared as written too (the
  // user named it for an external resolver), though shop's pod carries it exactly.
  const wild = workload("proxy", { app: "proxy" }, { namespace: "web", extraSans: ["*.db"] });
  assert.deepEqual(expected("web", "db-0.db", [shopDb, wild]), []);
  // Reached: from shop itself, qualified names from elsewhere, an FQDN, a name given by
  // extra-sans, and a workload's own name in the client's namespace.
  for (
    const [namespace, host] of [
      ["shop", "db"],
      ["shop", "db-0.db"],
      ["web", "db.shop"],
      ["web", "db-0.db.shop"],
      ["web", "db.shop.svc"],
      ["web", "db-0.db.shop.svc.cluster.local"],
    ]
  ) {
    assert.deepEqual(
      deriveSans([shopDb, client(namespace!, host!)], services, DOMAIN).warnings,
      [],
      `${namespace} ${host}`,
    );
  }
  const external = workload("ext", { app: "ext" }, { extraSans: ["db.example.com", "*.corp"] });
  for (const host of ["db.example.com", "x.corp"]) {
    assert.deepEqual(
      deriveSans([external, client("web", host)], [], DOMAIN).warnings.filter((w) =>
        !w.includes("wildcard SAN")
      ),
      [],
      host,
    );
  }
  assert.deepEqual(deriveSans([shopDb, client("shop", "db")], [], DOMAIN).warnings, []);
});
