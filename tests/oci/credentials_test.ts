import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { UnavailableError } from "../../util/errors/mod.ts";
import {
  dockerCredentialLookup,
  helperServerUrl,
  loadDockerCredentials,
  parseDockerConfig,
  registryKey,
  runCredentialHelper,
} from "../../oci/credentials.ts";

Deno.test("normalises auths keys: URLs, Docker Hub aliases, ports", () => {
  assert.equal(registryKey("https://index.docker.io/v1/"), "docker.io");
  assert.equal(registryKey("registry-1.docker.io"), "docker.io");
  assert.equal(registryKey("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
  assert.equal(registryKey("GHCR.io"), "ghcr.io");
});

Deno.test("reads auth (base64 user:password) and username/password entries", () => {
  const { auths: store } = parseDockerConfig(
    JSON.stringify({
      auths: {
        "https://index.docker.io/v1/": { auth: btoa("hub:pa:ss") },
        "ghcr.io": { username: "gh", password: "tok" },
        "empty.io": {},
      },
    }),
    "config.json",
  );
  assert.deepEqual(store.get("docker.io"), { username: "hub", password: "pa:ss" });
  assert.deepEqual(store.get("ghcr.io"), { username: "gh", password: "tok" });
  assert.equal(store.has("empty.io"), false);
});

Deno.test("rejects malformed docker config files, naming file and entry", () => {
  const bad: [string, RegExp][] = [
    ["{", /not valid JSON/],
    ["[]", /expected a JSON object/],
    [JSON.stringify({ auths: [] }), /auths/],
    [JSON.stringify({ auths: { "r.io": "x" } }), /auths\["r\.io"\]/],
    [JSON.stringify({ auths: { "r.io": { auth: "!!!" } } }), /not base64/],
    [JSON.stringify({ auths: { "r.io": { auth: btoa("nocolon") } } }), /user:password/],
    [JSON.stringify({ auths: { "r.io": { auth: 5 } } }), /expected a string/],
  ];
  for (const [text, reason] of bad) {
    assert.throws(
      () => parseDockerConfig(text, "/home/u/.docker/config.json"),
      (e: unknown) =>
        e instanceof ParseError && e.message.includes("/home/u/.docker/config.json") &&
        reason.test(e.message),
      text,
    );
  }
});

Deno.test("a missing docker config file means no credentials; DOCKER_CONFIG is honoured", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await (await loadDockerCredentials(`${dir}/none.json`))("r.io"), undefined);
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ auths: { "r.io": { auth: btoa("u:p") } } }),
    );
    const before = Deno.env.get("DOCKER_CONFIG");
    Deno.env.set("DOCKER_CONFIG", dir);
    try {
      assert.deepEqual(await (await loadDockerCredentials())("r.io"), {
        username: "u",
        password: "p",
      });
    } finally {
      if (before === undefined) Deno.env.delete("DOCKER_CONFIG");
      else Deno.env.set("DOCKER_CONFIG", before);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("asks credHelpers first, then credsStore, then auths (Docker's precedence)", async () => {
  const config = parseDockerConfig(
    JSON.stringify({
      auths: { "a.io": { auth: btoa("inline:a") }, "c.io": { auth: btoa("inline:c") } },
      credHelpers: { "https://a.io": "special" },
      credsStore: "desktop",
    }),
    "config.json",
  );
  assert.deepEqual([...config.credHelpers], [["a.io", "special"]]);
  assert.equal(config.credsStore, "desktop");
  const asked: string[] = [];
  const lookup = dockerCredentialLookup(config, (helper, registry) => {
    asked.push(`${helper} ${registry}`);
    return Promise.resolve(
      registry === "c.io" ? undefined : { username: helper, password: registry },
    );
  });
  assert.deepEqual(await lookup("a.io"), { username: "special", password: "a.io" });
  assert.deepEqual(await lookup("b.io"), { username: "desktop", password: "b.io" });
  assert.deepEqual(await lookup("c.io"), { username: "inline", password: "c" }, "helper has none");
  await lookup("a.io");
  assert.deepEqual(asked, ["special a.io", "desktop b.io", "desktop c.io"], "answers remembered");
  assert.equal(helperServerUrl("docker.io"), "https://index.docker.io/v1/");
});

Deno.test("rejects credential helper names that are not plain names", () => {
  for (const bad of ["../evil", "a b", ""]) {
    assert.throws(
      () => parseDockerConfig(JSON.stringify({ credHelpers: { "r.io": bad } }), "c.json"),
      (e: unknown) => e instanceof ParseError && /credHelpers/.test(e.message),
    );
  }
  assert.throws(
    () => parseDockerConfig(JSON.stringify({ credsStore: "x/y" }), "c.json"),
    /credsStore/,
  );
});

Deno.test("reads identitytoken entries as OAuth2 refresh tokens", () => {
  const { auths } = parseDockerConfig(
    JSON.stringify({
      auths: {
        "acr.io": { auth: btoa("00000000-0000-0000-0000-000000000000:"), identitytoken: "rt" },
        "t.io": { identitytoken: "rt2" },
      },
    }),
    "config.json",
  );
  assert.deepEqual(auths.get("acr.io"), {
    username: "00000000-0000-0000-0000-000000000000",
    password: "",
    identityToken: "rt",
  });
  assert.deepEqual(auths.get("t.io"), { username: "", password: "", identityToken: "rt2" });
  assert.throws(
    () => parseDockerConfig(JSON.stringify({ auths: { "x.io": { identitytoken: 1 } } }), "c"),
    /identitytoken: expected a string/,
  );
});

Deno.test("runs docker-credential-<name> get: credentials, identity tokens, misses, failures", async () => {
  const bin = await Deno.makeTempDir({ prefix: "contrast-helper-" });
  const path = Deno.env.get("PATH") ?? "";
  try {
    await Deno.writeTextFile(
      `${bin}/docker-credential-fake`,
      `#!/bin/sh
read server
case "$server" in
  https://index.docker.io/v1/) echo '{"Username":"hub","Secret":"pw"}' ;;
  token.io) echo '{"Username":"<token>","Secret":"refresh"}' ;;
  broken.io) echo 'not json' ;;
  fails.io) echo 'boom' >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
      { mode: 0o755 },
    );
    Deno.env.set("PATH", `${bin}:${path}`);
    assert.deepEqual(await runCredentialHelper("fake", "docker.io"), {
      username: "hub",
      password: "pw",
    });
    assert.deepEqual(await runCredentialHelper("fake", "token.io"), {
      username: "",
      password: "",
      identityToken: "refresh",
    });
    assert.equal(await runCredentialHelper("fake", "other.io"), undefined);
    await assert.rejects(runCredentialHelper("fake", "broken.io"), ParseError);
    await assert.rejects(
      runCredentialHelper("fake", "fails.io"),
      (e: unknown) => e instanceof UnavailableError && /exit code 3/.test(e.message),
    );
    await assert.rejects(
      runCredentialHelper("absent", "x.io"),
      (e: unknown) => e instanceof UnavailableError && e.field === "docker-credential-absent",
    );
  } finally {
    Deno.env.set("PATH", path);
    await Deno.remove(bin, { recursive: true });
  }
});
