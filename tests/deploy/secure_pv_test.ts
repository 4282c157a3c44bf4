import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { parseSecurePv, SECURE_PV_COMMAND } from "../../deploy/secure_pv.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { securePvStatefulSet } from "../../testing/secure_pv_stateful_set.ts";

const options = () => testGenerateOptions();

const STATEFUL_SET = (annotation: string, containerExtra = "", volumeMode = "Block") =>
  securePvStatefulSet({ annotation, containerExtra, volumeMode });

async function run(text: string) {
  return await generate([parseYamlFile("db.yml", text)], await options());
}

// deno-lint-ignore no-explicit-any
type Plain = any;

Deno.test("secure-pv: generate injects the volume container and a policy allowing exactly it", async () => {
  const result = await run(STATEFUL_SET("data:state"));
  const spec: Plain = parseYaml(result.files[0]!.text).spec.template.spec;
  const names = spec.initContainers.map((c: Plain) => c.name);
  assert.deepEqual(names, ["contrast-initializer", "contrast-secure-pv"]);
  const pv = spec.initContainers[1];
  assert.deepEqual(pv.command, [...SECURE_PV_COMMAND]);
  assert.ok(
    pv.command.filter((f: string) => f.startsWith("--allow-run")).join() ===
      "--allow-run=/sbin/cryptsetup,/usr/bin/cmp,/sbin/blkid,/sbin/mke2fs,/bin/mount",
    "the container may run the image's volume programs and nothing else",
  );
  assert.ok(!pv.command.includes("-A") && !pv.command.includes("--allow-all"));
  assert.deepEqual(pv.args, [
    "volume",
    "--cryptsetup",
    "/sbin/cryptsetup",
    "--cmp",
    "/usr/bin/cmp",
    "--blkid",
    "/sbin/blkid",
    "--mke2fs",
    "/sbin/mke2fs",
    "--mount-program",
    "/bin/mount",
    "--device",
    "/dev/csi0",
    "--volume",
    "data",
    "--mount",
    "/state",
  ]);
  assert.equal(pv.image, spec.initContainers[0].image, "the initializer image");
  // Root: Kubernetes gives a privileged container's capabilities only to a root process.
  assert.deepEqual(pv.securityContext, { privileged: true, runAsUser: 0, runAsGroup: 0 });
  assert.deepEqual(pv.volumeDevices, [{ name: "data", devicePath: "/dev/csi0" }]);
  assert.deepEqual(pv.volumeMounts[0], {
    name: "state",
    mountPath: "/state",
    mountPropagation: "Bidirectional",
  });
  assert.ok(pv.volumeMounts.some((m: Plain) => m.name === "contrast-secrets"), "reads the secret");
  assert.equal(spec.containers[0].volumeMounts[0].mountPropagation, "HostToContainer");

  const data = result.policies[0]!.policyData;
  const byName = new Map(data.containers.map((c) => [c.name, c]));
  assert.deepEqual(byName.get("contrast-secure-pv")!.devices, [{
    container_path: "/dev/csi0",
  }]);
  const process = byName.get("contrast-secure-pv")!.process;
  assert.deepEqual(
    process.args,
    [...SECURE_PV_COMMAND, ...pv.args],
    "the volume-mode command line",
  );
  assert.equal(process.uid, 0);
  assert.equal(process.gid, 0);
  for (const [name, c] of byName) {
    if (name !== "contrast-secure-pv") assert.equal(c.devices, undefined, name);
  }
  const stateMount = (name: string, path: string) =>
    byName.get(name)!.mounts.find((m) => m.destination === path)!.options;
  assert.ok(stateMount("contrast-secure-pv", "/state").includes("rshared"));
  assert.ok(stateMount("db", "/var/lib/db").includes("rslave"));

  const again = await generate(
    [parseYamlFile("db.yml", result.files[0]!.text)],
    await options(),
  );
  assert.equal(again.files[0]!.text, result.files[0]!.text, "a fixed point");
});

async function rejects(text: string, pattern: RegExp) {
  const error = await run(text).then(() => undefined, (e) => e);
  assert.ok(error instanceof InvalidDocumentError, String(error));
  assert.match(error.issues.map((i) => `${i.path}: ${i.reason}`).join("\n"), pattern);
}

Deno.test("secure-pv: malformed annotations and unfit volumes are refused by name", async () => {
  await rejects(
    STATEFUL_SET("data"),
    /annotations\["contrast\.edgeless\.systems\/secure-pv"\]: expected "<device-volume>:<mount-volume>"/,
  );
  await rejects(STATEFUL_SET("data:data"), /must differ/);
  await rejects(STATEFUL_SET("disk:state"), /no volume "disk" \(the device volume\)/);
  await rejects(STATEFUL_SET("data:cache"), /no volume "cache" \(the mount volume\)/);
  await rejects(
    STATEFUL_SET("data:state", "", "Filesystem"),
    /volumeClaimTemplates\[data\]\.spec\.volumeMode: must be "Block"/,
  );
  await rejects(
    STATEFUL_SET("data:state").replace(
      "{name: state, emptyDir: {}}",
      "{name: state, configMap: {name: x}}",
    ),
    /the mount volume must be an emptyDir/,
  );
  await rejects(
    STATEFUL_SET("data:state").replace(
      "mountPath: /var/lib/db}",
      "mountPath: /var/lib/db}\n            - {name: data, mountPath: /raw}",
    ),
    /"data" is the encrypted device: mount "state" instead/,
  );
  // The reviewer's attack: the mount volume with a subPath would be a host share (kubelet's
  // volume-subpaths bind mount is not an emptyDir to Kata), the LUKS device unused.
  for (const field of ["subPath: pgdata", 'subPathExpr: "$(POD_NAME)"']) {
    await rejects(
      STATEFUL_SET("data:state").replace(
        "mountPath: /var/lib/db}",
        `mountPath: /var/lib/db, ${field}}`,
      ),
      new RegExp(
        `containers\\[0\\]\\.volumeMounts\\[0\\]\\.${
          field.split(":")[0]
        }: container "db" mounts "state" ` +
          "\\(the encrypted volume's mount volume\\).*host storage",
      ),
    );
  }
  await rejects(
    STATEFUL_SET("data:state", "          volumeDevices: [{name: data, devicePath: /dev/xvda}]\n"),
    /volumeDevices\[0\]: raw devices are not supported/,
  );
  await rejects(
    STATEFUL_SET("data:state").replace(
      "contrast.edgeless.systems/secure-pv",
      'contrast.edgeless.systems/skip-initializer: "true"\n        contrast.edgeless.systems/secure-pv',
    ),
    /needs the initializer/,
  );
});

Deno.test("secure-pv: annotation syntax", () => {
  assert.deepEqual(parseSecurePv("data:state"), { device: "data", mount: "state" });
  for (const bad of ["", "a:b:c", ":b", "A:b", "a:b_", 5]) {
    assert.ok("error" in parseSecurePv(bad), String(bad));
  }
});
