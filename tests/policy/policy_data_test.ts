import assert from "node:assert/strict";
import { settingsForEmptyDirMode } from "../../policy/runtime_profiles.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { buildPolicyData, podNamePattern, type PodPolicyInput } from "../../policy/policy_data.ts";
import { IMAGES, samplePodSpec, testSettings } from "./fixtures.ts";

const images = new Map([...IMAGES.values()].map((i) => [i.pinned, i]));
const web = IMAGES.get("127.0.0.1:5000/web:1.0")!;

async function input(
  spec: Record<string, unknown>,
  kind: PodPolicyInput["kind"] = "Pod",
): Promise<PodPolicyInput> {
  return {
    kind,
    name: "p",
    namespace: "ns",
    podMetadata: {},
    podSpec: spec,
    specPath: "f.yml[0]: spec",
    images,
    config: { configMap: () => ({ greeting: "hi" }), secret: () => undefined },
    settings: await testSettings(),
  };
}

Deno.test("pod name patterns per controller kind match real generated names", () => {
  const cases: [PodPolicyInput["kind"], string][] = [
    ["Pod", "web"],
    ["Deployment", "web-7d9f8b6c5d-x2k9q"],
    ["StatefulSet", "web-12"],
    ["DaemonSet", "web-x2k9q"],
    ["ReplicaSet", "web-x2k9q"],
    ["Job", "web-x2k9q"],
    ["CronJob", "web-29000000-x2k9q"],
  ];
  for (const [kind, name] of cases) {
    assert.match(name, new RegExp(`^${podNamePattern(kind, "web")}$`), kind);
    assert.doesNotMatch(`other-${name}`, new RegExp(`^${podNamePattern(kind, "web")}$`));
  }
  // Dots in names are literal, not "any character".
  assert.doesNotMatch("webxy", new RegExp(`^${podNamePattern("Pod", "web.y")}$`));
  assert.match("web.y", new RegExp(`^${podNamePattern("Pod", "web.y")}$`));
});

Deno.test("long controller names are cut to 58 characters before the random suffix, as the API server does", () => {
  const long = "a".repeat(60);
  const ds = new RegExp(`^${podNamePattern("DaemonSet", long)}$`);
  assert.match(`${"a".repeat(58)}x2k9q`, ds);
  assert.doesNotMatch(`${long}-x2k9q`, ds);
  // A Deployment whose ReplicaSet name is cut inside the pod-template hash.
  const name = "d".repeat(50);
  const dep = new RegExp(`^${podNamePattern("Deployment", name)}$`);
  const rs = `${name}-7d9f8b6c5d-`;
  assert.match(`${rs.slice(0, 58)}x2k9q`, dep);
  assert.match(
    `${"d".repeat(40)}-7d9f8b6c5d-x2k9q`,
    new RegExp(`^${podNamePattern("Deployment", "d".repeat(40))}$`),
  );
  assert.doesNotMatch(`${rs.slice(0, 57)}x2k9q`, dep);
  // A CronJob's Job name cut inside the scheduled minute.
  const cron = "c".repeat(50);
  assert.match(
    `${`${cron}-29000000-`.slice(0, 58)}x2k9q`,
    new RegExp(`^${podNamePattern("CronJob", cron)}$`),
  );
});

Deno.test("process: args from image and pod with $(VAR), working dir, user from the image", async () => {
  const data = buildPolicyData(await input(samplePodSpec()));
  const c = data.containers.find((c) => c.name === "web")!;
  assert.deepEqual(c.process.args, ["/usr/bin/web", "--port", "9090"]);
  assert.equal(c.process.cwd, "/srv");
  assert.equal(c.process.uid, 1000);
  assert.equal(c.image, web.pinned);
  assert.ok(!c.process.capabilities.bounding.includes("CAP_NET_RAW"));
  assert.ok(c.process.capabilities.bounding.includes("CAP_CHOWN"));
  assert.equal(data.containers[0]!.kind, "pause");
});

Deno.test("capabilities in containerd's order: ALL add, ALL drop, then named adds, then named drops", async () => {
  const caps = async (capabilities: Record<string, string[]>) => {
    const data = buildPolicyData(
      await input({
        containers: [{ name: "c", image: web.pinned, securityContext: { capabilities } }],
      }),
    );
    return data.containers[1]!.process.capabilities.bounding;
  };
  assert.deepEqual(await caps({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] }), [
    "CAP_NET_BIND_SERVICE",
  ]);
  assert.deepEqual(await caps({ drop: ["ALL"] }), []);
  const all = (await testSettings()).container.privileged_capabilities;
  const allButChown = await caps({ add: ["ALL"], drop: ["CHOWN"] });
  assert.equal(allButChown.length, all.length - 1);
  assert.ok(!allButChown.includes("CAP_CHOWN"));
});

Deno.test("privileged containers get every capability and no masked paths; tty and read-only root are carried", async () => {
  const data = buildPolicyData(
    await input({
      containers: [{
        name: "c",
        image: web.pinned,
        tty: true,
        securityContext: { privileged: true, readOnlyRootFilesystem: true },
      }],
    }),
  );
  const c = data.containers[1]!;
  assert.equal(
    c.process.capabilities.bounding.length,
    (await testSettings()).container.privileged_capabilities.length,
  );
  assert.deepEqual(c.masked_paths, []);
  assert.equal(c.process.terminal, true);
  assert.equal(c.readonly_root, true);
});

Deno.test("the PID namespace is never in the spec; shareProcessNamespace sets sandbox_pidns", async () => {
  const shared = buildPolicyData(
    await input({ shareProcessNamespace: true, containers: [{ name: "c", image: web.pinned }] }),
  );
  assert.deepEqual(shared.containers[1]!.namespaces, ["ipc", "mount", "uts"]);
  assert.equal(shared.containers[1]!.sandbox_pidns, true);
  const own = buildPolicyData(await input({ containers: [{ name: "c", image: web.pinned }] }));
  assert.deepEqual(own.containers[1]!.namespaces, ["ipc", "mount", "uts"]);
  assert.equal(own.containers[1]!.sandbox_pidns, false);
});

Deno.test("containerd's default sysctls are expected, and the pod's sysctls override them", async () => {
  const data = buildPolicyData(
    await input({
      securityContext: {
        sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "1024" }, {
          name: "kernel.shm_rmid_forced",
          value: "1",
        }],
      },
      containers: [{ name: "c", image: web.pinned }],
    }),
  );
  assert.deepEqual(data.containers[1]!.sysctls, {
    "net.ipv4.ip_unprivileged_port_start": "1024",
    "net.ipv4.ping_group_range": "0 2147483647",
    "kernel.shm_rmid_forced": "1",
  });
});

Deno.test("configMap volumes and the service account token are file shares named after the mount path", async () => {
  const data = buildPolicyData(
    await input({
      volumes: [{ name: "conf", configMap: { name: "cm" } }, { name: "scratch", emptyDir: {} }],
      containers: [{
        name: "c",
        image: web.pinned,
        volumeMounts: [{ name: "conf", mountPath: "/etc/app.d" }, {
          name: "scratch",
          mountPath: "/tmp",
        }],
      }],
    }),
  );
  const mounts = data.containers[1]!.mounts;
  const conf = mounts.find((m) => m.destination === "/etc/app.d")!;
  assert.equal(
    conf.source_regex,
    "^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-app\\.d$",
  );
  assert.deepEqual(conf.options, ["rbind", "rprivate", "ro"]);
  const token = mounts.find((m) =>
    m.destination === "/var/run/secrets/kubernetes.io/serviceaccount"
  )!;
  assert.match(token.source_regex, /-serviceaccount\$$/);
  assert.equal(mounts.find((m) => m.destination === "/tmp")!.type, "local");
  const noToken = buildPolicyData(
    await input({
      automountServiceAccountToken: false,
      containers: [{ name: "c", image: web.pinned }],
    }),
  );
  assert.equal(
    noToken.containers[1]!.mounts.some((m) => m.destination.includes("serviceaccount")),
    false,
  );
});

Deno.test("rejects host namespaces, bad mount propagation, unknown volumes, runtime-only args and duplicate names", async () => {
  const bad = await input({
    hostNetwork: true,
    hostUsers: false,
    ephemeralContainers: [{ name: "debug", image: web.pinned }],
    volumes: [{ name: "v", emptyDir: {} }],
    containers: [
      {
        name: "c",
        image: web.pinned,
        volumeMounts: [{ name: "v", mountPath: "/v", mountPropagation: "Bidirectional" }, {
          name: "nope",
          mountPath: "/n",
        }, { name: "v", mountPath: "/w", mountPropagation: "Sideways" }],
      },
      {
        name: "c",
        image: web.pinned,
        env: [{ name: "N", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
        args: ["$(N)"],
      },
    ],
  });
  assert.throws(() => buildPolicyData(bad), (e: InvalidDocumentError) => {
    const lines = e.issues.map((i) => `${i.path}: ${i.reason}`);
    for (
      const expected of [
        "f.yml[0]: spec.hostNetwork: not supported in a confidential pod",
        "f.yml[0]: spec.hostUsers: not supported in a confidential pod",
        "f.yml[0]: spec.ephemeralContainers: not supported: the policy admits only the containers of the pod spec",
        "f.yml[0]: spec.containers[0].volumeMounts[0].mountPropagation: Bidirectional propagation needs a privileged container (Kubernetes refuses it otherwise)",
        'f.yml[0]: spec.containers[0].volumeMounts[2].mountPropagation: must be None, HostToContainer or Bidirectional, got "Sideways"',
        'f.yml[0]: spec.containers[0].volumeMounts[1].name: no volume named "nope" in the pod',
        'f.yml[0]: spec: duplicate container name "c"',
      ]
    ) assert.ok(lines.includes(expected), `missing ${expected} in\n${lines.join("\n")}`);
    return true;
  });
});

Deno.test("arguments with values only known at run time become per-argument patterns", async () => {
  const data = buildPolicyData(
    await input({
      containers: [{
        name: "c",
        image: web.pinned,
        command: ["/app"],
        args: ["--name=$(N)", "--fixed"],
        env: [{ name: "N", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
      }],
    }, "StatefulSet"),
  );
  const p = data.containers[1]!.process;
  assert.deepEqual(p.args, ["/app", "--name=$(N)", "--fixed"]);
  assert.deepEqual(p.arg_regexes, ["^\\/app$", "^\\-\\-name=p-[0-9]+$", "^\\-\\-fixed$"]);
});

Deno.test("runAsNonRoot with a root user is rejected", async () => {
  const root = {
    ...web,
    pinned: web.pinned.replace("aaaa", "abab"),
    config: { ...web.config, user: "" },
  };
  const i = await input({
    securityContext: { runAsNonRoot: true },
    containers: [{ name: "c", image: root.pinned }],
  });
  assert.throws(
    () => buildPolicyData({ ...i, images: new Map([...images, [root.pinned, root]]) }),
    /runAsNonRoot: the container would run as root/,
  );
  const fine = await input({
    securityContext: { runAsNonRoot: true },
    containers: [{ name: "c", image: web.pinned }],
  });
  assert.equal(buildPolicyData(fine).containers[1]!.process.uid, 1000);
});

Deno.test("runtime facts: read-only root, custom termination path, privileged sysfs", async () => {
  const data = buildPolicyData(
    await input({
      containers: [
        {
          name: "ro",
          image: web.pinned,
          terminationMessagePath: "/tmp/app-termination",
          securityContext: { readOnlyRootFilesystem: true },
        },
        { name: "priv", image: web.pinned, securityContext: { privileged: true } },
      ],
    }),
  );
  const [pause, ro, priv] = data.containers;
  const at = (c: typeof ro, d: string) => c!.mounts.find((m) => m.destination === d)!;
  assert.deepEqual(at(ro, "/etc/hostname").options, ["rbind", "rprivate", "ro"]);
  assert.deepEqual(at(ro, "/etc/resolv.conf").options, ["rbind", "rprivate", "ro"]);
  assert.deepEqual(at(ro, "/etc/hosts").options, ["rbind", "rprivate", "rw"]);
  assert.match(at(ro, "/tmp/app-termination").source_regex, /-app\\-termination\$$/);
  assert.ok(at(priv, "/sys").options.includes("rw"));
  assert.ok(at(priv, "/sys/fs/cgroup").options.includes("rw"));
  assert.ok(at(ro, "/sys").options.includes("ro"));
  // kubelet makes the whole sandbox privileged, so the pause container's sysfs is writable too.
  assert.ok(at(pause, "/sys").options.includes("rw"));
  const plain = buildPolicyData(await input({ containers: [{ name: "c", image: web.pinned }] }));
  assert.ok(at(plain.containers[0], "/sys").options.includes("ro"));
});

Deno.test("a container without any command is rejected", async () => {
  const noCmd = [...IMAGES.values()].find((i) =>
    i.config.entrypoint.length === 0 && i.config.cmd.length === 0
  );
  const image = noCmd ??
    { ...web, pinned: web.pinned + "x", config: { ...web.config, entrypoint: [], cmd: [] } };
  const i = await input({ containers: [{ name: "c", image: image.pinned }] });
  const withImage = { ...i, images: new Map([...images, [image.pinned, image]]) };
  assert.throws(() => buildPolicyData(withImage), /no command/);
});

Deno.test("a hostPath volume is refused with one clear error, not one per mount", async () => {
  const bad = await input({
    volumes: [{ name: "h", hostPath: { path: "/var/log" } }],
    containers: [{
      name: "c",
      image: web.pinned,
      volumeMounts: [{ name: "h", mountPath: "/a" }, { name: "h", mountPath: "/b" }],
    }],
  });
  assert.throws(() => buildPolicyData(bad), (e: InvalidDocumentError) => {
    assert.equal(e.issues.length, 1, e.issues.map((i) => i.reason).join("\n"));
    assert.match(e.issues[0]!.path, /spec\.volumes\[0\]\.hostPath$/);
    assert.match(e.issues[0]!.reason, /hostPath.*outside the confidential VM/);
    return true;
  });
});

Deno.test("subPath of host-provided volumes and mount propagation become bind mounts", async () => {
  const data = buildPolicyData(
    await input({
      volumes: [
        { name: "cfg", configMap: { name: "cm" } },
        { name: "e", emptyDir: {} },
        { name: "pv", persistentVolumeClaim: { claimName: "c" } },
      ],
      containers: [{
        name: "c",
        image: web.pinned,
        securityContext: { privileged: true },
        volumeMounts: [
          { name: "cfg", mountPath: "/etc/app/app.conf", subPath: "app.conf" },
          { name: "pv", mountPath: "/logs", subPathExpr: "$(POD_NAME)" },
          { name: "e", mountPath: "/in", mountPropagation: "HostToContainer" },
          { name: "e", mountPath: "/both", mountPropagation: "Bidirectional" },
          { name: "e", mountPath: "/whole", subPath: "" },
        ],
      }],
    }),
  );
  const mounts = data.containers.at(-1)!.mounts;
  const at = (d: string) => mounts.find((m) => m.destination === d)!;
  assert.equal(at("/etc/app/app.conf").type, "bind");
  assert.match(at("/etc/app/app.conf").source_regex, /-app\\\.conf\$$/);
  assert.deepEqual(at("/etc/app/app.conf").options, ["rbind", "rprivate", "rw"]);
  assert.match(at("/logs").source_regex, /-logs\$$/);
  assert.equal(at("/logs").optional, true);
  assert.deepEqual(at("/in").options, ["rbind", "rslave", "rw"]);
  assert.deepEqual(at("/both").options, ["rbind", "rshared", "rw"]);
  // An empty subPath is the whole volume (as Kubernetes reads it): the guest-local emptyDir.
  assert.equal(at("/whole").type, "local");
  assert.equal(at("/whole").optional, undefined);
});

Deno.test("an emptyDir mounted with subPath or subPathExpr is refused, never an optional share", async () => {
  // kubelet bind-mounts a subPath from volume-subpaths/, which Kata does not recognise as an
  // emptyDir: it would share that host directory (the data outside the VM).
  for (const medium of [{}, { medium: "Memory" }]) {
    for (const [field, value] of [["subPath", "pgdata"], ["subPathExpr", "$(POD_NAME)"]]) {
      for (const settings of ["guest-local", "block-encrypted"] as const) {
        const i = await input({
          volumes: [{ name: "state", emptyDir: medium }],
          containers: [{
            name: "db",
            image: web.pinned,
            volumeMounts: [
              { name: "state", mountPath: "/var/lib/postgresql/data", [field]: value },
            ],
          }],
        });
        assert.throws(
          () => buildPolicyData({ ...i, settings: settingsForEmptyDirMode(i.settings, settings) }),
          (e: InvalidDocumentError) => {
            assert.ok(e instanceof InvalidDocumentError);
            assert.equal(e.issues.length, 1);
            assert.equal(
              e.issues[0]!.path,
              `f.yml[0]: spec.containers[0].volumeMounts[0].${field}`,
            );
            const reason = e.issues[0]!.reason;
            assert.match(reason, /container "db" of Pod "p" mounts emptyDir volume "state"/);
            assert.ok(reason.includes(`${field} ${JSON.stringify(value)}`), reason);
            assert.match(reason, /outside the confidential VM/);
            return true;
          },
          `${JSON.stringify(medium)} ${field} ${settings}`,
        );
      }
    }
  }
});

/**
 * The policy data of a pod whose one container mounts an emptyDir at /cache and runs the web
 * image with the image VOLUMEs `volumes`.
 */
async function emptyDirAtCacheUnderVolumes(volumes: string[]) {
  const base = await input({
    volumes: [{ name: "e", emptyDir: {} }],
    containers: [{
      name: "c",
      image: web.pinned,
      volumeMounts: [{ name: "e", mountPath: "/cache" }],
    }],
  });
  return buildPolicyData({
    ...base,
    images: new Map([...base.images, [web.pinned, { ...web, config: { ...web.config, volumes } }]]),
  });
}

Deno.test("image VOLUMEs get a shared read-write mount unless a volumeMount covers them", async () => {
  const data = await emptyDirAtCacheUnderVolumes(["/data", "/cache"]);
  const mounts = data.containers.at(-1)!.mounts;
  const dataMount = mounts.find((m) => m.destination === "/data")!;
  assert.deepEqual(dataMount.options, ["rbind", "rprivate", "rw"]);
  assert.match(dataMount.source_regex, /\[a-z0-9\]\{16\}-data\$$/);
  assert.equal(mounts.filter((m) => m.destination === "/cache").length, 1);
  assert.equal(mounts.find((m) => m.destination === "/cache")!.type, "local");
});

Deno.test("an image VOLUME spelled differently from a volumeMount's path gets no second mount there", async () => {
  // containerd skips an image VOLUME when filepath.Clean of it equals a CRI mount's path. An
  // expectation at "/cache/" after the emptyDir at "/cache" let the host send both, its shared
  // directory last, covering the guest's emptyDir (mount_order puts the later spelling second).
  for (const spelling of ["/cache/", "//cache", "/cache/.", "/tmp/../cache"]) {
    const data = await emptyDirAtCacheUnderVolumes([spelling, "/data/"]);
    const destinations = data.containers.at(-1)!.mounts.map((m) => m.destination);
    assert.deepEqual(destinations.filter((d) => d.includes("cache")), ["/cache"], spelling);
    assert.ok(destinations.includes("/data/"), "an uncovered VOLUME keeps containerd's spelling");
  }
});

Deno.test("the pause container runs as the pod's runAsUser/runAsGroup with its groups", async () => {
  const data = buildPolicyData(
    await input({
      securityContext: { runAsUser: 1001, runAsGroup: 2002, supplementalGroups: [7], fsGroup: 9 },
      containers: [{ name: "c", image: web.pinned }],
    }),
  );
  const pause = data.containers[0]!.process;
  assert.deepEqual([pause.uid, pause.gid, pause.additional_gids], [1001, 2002, [7, 9, 2002]]);
  const plain = buildPolicyData(await input({ containers: [{ name: "c", image: web.pinned }] }));
  const p = plain.containers[0]!.process;
  assert.deepEqual([p.uid, p.gid, p.additional_gids], [65535, 65535, [65535]]);
});

Deno.test("a generateName Pod: its prefix (cut to 58) and exactly 5 random characters", () => {
  const suffix = "[a-z0-9]{5}";
  assert.equal(podNamePattern("Pod", "web-", true), `web\\-${suffix}`);
  const long = "x".repeat(70);
  assert.equal(podNamePattern("Pod", long, true), `${"x".repeat(58)}${suffix}`);
  const re = new RegExp(`^${podNamePattern("Pod", "dummy", true)}$`);
  for (const ok of ["dummyx2kqp", "dummy7b9zc"]) assert.match(ok, re);
  const bad = ["dummy", "dummysfx", "dummy1", "dummya-b.c", "dummyx.attacker.example", "xyzdummy"];
  for (const name of [...bad, "dummy-", "dummyA2kqp", "dummy_x2kq", "dummy/x2kq", "dummyx2kqpq"]) {
    assert.doesNotMatch(name, re);
  }
});

Deno.test("GPUs through VFIO (nvidia.com/pgpu) are counted; other device resources refused", async () => {
  const gpu = (resources: Record<string, unknown>) =>
    input({ containers: [{ name: "gpu", image: web.pinned, resources }] });
  const data = buildPolicyData(
    await gpu({ limits: { "nvidia.com/pgpu": "2", cpu: "1" }, requests: { "nvidia.com/pgpu": 2 } }),
  );
  assert.equal(data.containers.find((c) => c.name === "gpu")!.gpus, 2);
  assert.equal(data.containers.find((c) => c.kind === "pause")!.gpus, undefined);
  for (
    const [resources, pattern] of [
      [
        { limits: { "amd.com/gpu": "1" } },
        /limits\["amd\.com\/gpu"\]: devices other than nvidia\.com\/pgpu/,
      ],
      [
        { limits: { "nvidia.com/pgpu": "two" } },
        /limits\["nvidia\.com\/pgpu"\]: must be a whole number/,
      ],
      [{ limits: { "nvidia.com/pgpu": "0" } }, /must be a whole number of GPUs/],
      [
        { limits: { "nvidia.com/pgpu": "2" }, requests: { "nvidia.com/pgpu": "1" } },
        /resources: nvidia\.com\/pgpu requests must equal its limits/,
      ],
    ] as const
  ) {
    const bad = await gpu(resources as Record<string, unknown>);
    assert.throws(() => buildPolicyData(bad), (e: InvalidDocumentError) => {
      assert.equal(e.issues.length, 1, e.issues.map((i) => i.reason).join("; "));
      assert.match(`${e.issues[0]!.path}: ${e.issues[0]!.reason}`, pattern);
      return true;
    });
  }
});

Deno.test("block-encrypted emptyDir: a blk storage under an ephemeral key, with the pod's fsGroup", async () => {
  const spec = (fsGroup?: number) => ({
    ...(fsGroup !== undefined ? { securityContext: { fsGroup } } : {}),
    volumes: [{ name: "e", emptyDir: {} }, { name: "m", emptyDir: { medium: "Memory" } }],
    containers: [{
      name: "c",
      image: web.pinned,
      volumeMounts: [{ name: "e", mountPath: "/e" }, { name: "m", mountPath: "/m" }],
    }],
  });
  const encrypted = async (s: Record<string, unknown>) => {
    const i = await input(s);
    return buildPolicyData({
      ...i,
      settings: settingsForEmptyDirMode(i.settings, "block-encrypted"),
    }).containers.find((c) => c.name === "c")!;
  };
  const c = await encrypted(spec(1000));
  const blk = c.storages.find((s) => s.driver === "blk")!;
  assert.deepEqual(blk.driver_option_regexes, [
    "^encryption_key=ephemeral$",
    "^create_filesystem$",
  ]);
  assert.equal(blk.fstype, "ext4");
  assert.equal(blk.fs_group, 1000);
  const mount = c.mounts.find((m) => m.destination === "/e")!;
  assert.equal(mount.type, "bind");
  assert.equal(mount.source_regex, blk.mount_point_regex);
  assert.match("/run/kata-containers/sandbox/storage/MDAvMDA=", new RegExp(blk.mount_point_regex));
  assert.doesNotMatch(
    "/run/kata-containers/sandbox/storage/../x",
    new RegExp(blk.mount_point_regex),
  );
  // Memory emptyDirs stay guest tmpfs; without fsGroup the storage expects no group.
  assert.ok(c.storages.some((s) => s.driver === "ephemeral"));
  assert.equal(
    (await encrypted(spec())).storages.find((s) => s.driver === "blk")!.fs_group,
    undefined,
  );
  // The default (guest-local) mode keeps the `local` storage.
  const local = buildPolicyData(await input(spec(1000))).containers.find((x) => x.name === "c")!;
  assert.ok(local.storages.some((s) => s.driver === "local"));
  assert.ok(!local.storages.some((s) => s.driver === "blk"));
});

Deno.test("block-encrypted emptyDir: two disk-backed emptyDirs in one pod are refused (the host could merge them)", async () => {
  const i = await input({
    volumes: [
      { name: "inbox", emptyDir: {} },
      { name: "private", emptyDir: {} },
      { name: "m", emptyDir: { medium: "Memory" } },
    ],
    containers: [{
      name: "c",
      image: web.pinned,
      volumeMounts: [{ name: "inbox", mountPath: "/in" }, { name: "private", mountPath: "/p" }],
    }],
  });
  assert.throws(
    () =>
      buildPolicyData({ ...i, settings: settingsForEmptyDirMode(i.settings, "block-encrypted") }),
    (e: InvalidDocumentError) => {
      assert.equal(e.issues.length, 1, e.issues.map((x) => x.reason).join("; "));
      assert.match(e.issues[0]!.path, /volumes$/);
      assert.match(e.issues[0]!.reason, /2 disk-backed emptyDir volumes \(inbox, private\)/);
      return true;
    },
  );
  // The default guest-local mode names each volume in its path: both are fine there.
  buildPolicyData(i);
});
