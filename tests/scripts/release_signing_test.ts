/**
 * Signed releases: `deno task release --signing-key` signs `SHA256SUMS`, stock `openssl` and
 * `scripts/verify_release.ts` verify it with a throw-away key made here, and every way to tamper
 * with the release, or to give a bad key, is refused.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../../scripts/images/bundle.ts";
import { encodeImageLock } from "../../deploy/image_lock.ts";
import { filesBelow, TEST_LOCK, withReleaseBuildLock } from "../helpers/release.ts";
import { whyNoOpenssl } from "../helpers/openssl.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const NO_OPENSSL = await whyNoOpenssl();

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function command(cmd: string, args: string[], cwd?: string): Promise<Ran> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

const openssl = (...args: string[]) => command("openssl", args);

/** `scripts/release.ts --lock … --out out` with `args`. */
function release(dir: string, out: string, ...args: string[]): Promise<Ran> {
  return withReleaseBuildLock(() =>
    command(Deno.execPath(), [
      "run",
      "-A",
      `${REPO_ROOT}scripts/release.ts`,
      "--lock",
      `${dir}/images.lock.json`,
      "--out",
      out,
      ...args,
    ])
  );
}

/** `scripts/verify_release.ts` with only the permission the README gives it. */
function verify(...args: string[]): Promise<Ran> {
  return command(Deno.execPath(), [
    "run",
    "--allow-read",
    `${REPO_ROOT}scripts/verify_release.ts`,
    ...args,
  ]);
}

/** `openssl pkeyutl -verify` over `SHA256SUMS` of `dir`, as the README runs it. */
function opensslVerify(publicKey: string, dir: string): Promise<Ran> {
  return command("openssl", [
    "pkeyutl",
    "-verify",
    "-pubin",
    "-inkey",
    publicKey,
    "-rawin",
    "-in",
    "SHA256SUMS",
    "-sigfile",
    "SHA256SUMS.sig",
  ], dir);
}

/** A new Ed25519 key pair from `openssl`: `<name>.key.pem` and `<name>.pub.pem` in `dir`. */
async function keyPair(dir: string, name: string): Promise<{ key: string; pub: string }> {
  const key = `${dir}/${name}.key.pem`;
  const pub = `${dir}/${name}.pub.pem`;
  const gen = await openssl("genpkey", "-algorithm", "ed25519", "-out", key);
  assert.equal(gen.code, 0, gen.stderr);
  const out = await openssl("pkey", "-in", key, "-pubout", "-out", pub);
  assert.equal(out.code, 0, out.stderr);
  return { key, pub };
}

/**
 * The end of a PEM file's base64 body: for a private key, the part that holds the secret (the
 * start is the same for every Ed25519 key), which must never be printed.
 */
function pemSecret(text: string): string {
  return text.split("\n").filter((l) => l && !l.startsWith("-----")).join("").slice(-32);
}

/** A copy of the release folder `from` at `to`, for one kind of tampering. */
async function copyRelease(from: string, to: string): Promise<string> {
  for (const file of filesBelow(from)) {
    const target = `${to}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(`${from}/${file}`, target);
  }
  return to;
}

Deno.test({
  name: "a signed release verifies with stock openssl and verify_release.ts; tampering is refused",
  ignore: NO_OPENSSL !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: (t) =>
    withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/images.lock.json`, encodeImageLock(TEST_LOCK));
      const { key, pub } = await keyPair(dir, "release");
      const out = `${dir}/dist/release`;
      const made = await release(dir, out, "--signing-key", key);
      assert.equal(made.code, 0, made.stderr);

      // The key is never printed; its fingerprint is, as openssl computes it.
      const keyText = await Deno.readTextFile(key);
      assert.ok(!made.stderr.includes(pemSecret(keyText)), "key material printed");
      assert.ok(!made.stdout.includes(pemSecret(keyText)), "key material printed");
      const der = await new Deno.Command("openssl", {
        args: ["pkey", "-pubin", "-in", pub, "-outform", "DER"],
        stdout: "piped",
      }).output();
      const fingerprint = Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", der.stdout)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
      assert.match(made.stderr, new RegExp(`signed by the Ed25519 key sha256:${fingerprint}`));
      assert.doesNotMatch(made.stderr, /unsigned/);

      // The signature sits next to SHA256SUMS; no key ships with the release.
      const files = filesBelow(out);
      assert.ok(files.includes("SHA256SUMS.sig"), files.join(" "));
      assert.deepEqual(files.filter((f) => f.endsWith(".pem")), []);
      assert.equal((await Deno.readFile(`${out}/SHA256SUMS.sig`)).length, 64);
      assert.deepEqual([...Deno.readDirSync(`${dir}/dist`)].map((e) => e.name), ["release"]);

      const stock = await opensslVerify(pub, out);
      assert.equal(stock.code, 0, stock.stderr);
      assert.match(stock.stdout, /Signature Verified Successfully/);
      const ok = await verify("--public-key", pub, out);
      assert.equal(ok.code, 0, ok.stderr);
      const listed = (await Deno.readTextFile(`${out}/SHA256SUMS`)).trim().split("\n").length;
      assert.equal(files.length, listed + 2);
      assert.match(ok.stdout, new RegExp(`sha256:${fingerprint}; ${listed} files verified`));

      let n = 0;
      const tampered = async (
        name: string,
        change: (copy: string) => Promise<void>,
        expected: RegExp,
        stockRefuses: boolean,
      ) =>
        await t.step(name, async () => {
          const copy = await copyRelease(out, `${dir}/tampered-${n++}`);
          await change(copy);
          const refused = await verify("--public-key", pub, copy);
          assert.equal(refused.code, 1, refused.stdout + refused.stderr);
          assert.match(refused.stderr, expected);
          assert.doesNotMatch(refused.stdout, /verified/);
          const byOpenssl = await opensslVerify(pub, copy);
          if (stockRefuses) assert.notEqual(byOpenssl.code, 0, byOpenssl.stdout);
          else assert.equal(byOpenssl.code, 0, byOpenssl.stderr);
        });

      const other = await keyPair(dir, "other");
      await t.step("keys being rotated: the signature must verify with one of them", async () => {
        const either = await verify("--public-key", other.pub, "--public-key", pub, out);
        assert.equal(either.code, 0, either.stderr);
        assert.match(either.stdout, new RegExp(`sha256:${fingerprint}; ${listed} files verified`));
        const third = await keyPair(dir, "third");
        const neither = await verify("--public-key", other.pub, "--public-key", third.pub, out);
        assert.equal(neither.code, 1, neither.stderr);
        assert.match(neither.stderr, /SHA256SUMS\.sig: does not verify .* public keys \(2\)/);
        const bad = await verify("--public-key", pub, "--public-key", key, out);
        assert.equal(bad.code, 2, bad.stderr);
        assert.match(bad.stderr, /release\.key\.pem: a private key/);
      });
      await tampered(
        "signed by another key",
        async (copy) => {
          const sig = await openssl(
            "pkeyutl",
            "-sign",
            "-inkey",
            other.key,
            "-rawin",
            "-in",
            `${copy}/SHA256SUMS`,
            "-out",
            `${copy}/SHA256SUMS.sig`,
          );
          assert.equal(sig.code, 0, sig.stderr);
        },
        /verification failed: SHA256SUMS\.sig: does not verify over SHA256SUMS/,
        true,
      );
      await tampered(
        "SHA256SUMS edited after signing (a chunk added with its right hash)",
        async (copy) => {
          const chunk = new TextEncoder().encode("export const evil = 1;\n");
          await Deno.writeFile(`${copy}/contrast/chunk-INJECTED.js`, chunk);
          const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", chunk));
          const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
          await Deno.writeTextFile(
            `${copy}/SHA256SUMS`,
            `${hex}  contrast/chunk-INJECTED.js\n`,
            { append: true },
          );
        },
        /SHA256SUMS\.sig: does not verify/,
        true,
      );
      await tampered(
        "a file altered",
        (copy) => Deno.writeTextFile(`${copy}/runtime.yml`, "# changed\n", { append: true }),
        /FAILED runtime\.yml: SHA-256 [0-9a-f]{64}, SHA256SUMS lists [0-9a-f]{64}/,
        false,
      );
      await tampered(
        "a file missing",
        (copy) => Deno.remove(`${copy}/contrast/contrast.js`),
        /FAILED contrast\/contrast\.js: listed in SHA256SUMS but missing/,
        false,
      );
      await tampered(
        "an extra file (an injected chunk)",
        (copy) => Deno.writeTextFile(`${copy}/contrast/chunk-INJECTED.js`, "evil()\n"),
        /FAILED contrast\/chunk-INJECTED\.js: not listed in SHA256SUMS/,
        false,
      );
      await tampered(
        "an extra file whose name holds terminal control characters",
        (copy) => Deno.writeTextFile(`${copy}/contrast/x\u001b[2K\rok.js`, "evil()\n"),
        /FAILED contrast\/x\\u001b\[2K\\u000dok\.js: not listed in SHA256SUMS/,
        false,
      );
      await tampered(
        "a listed file replaced by a symbolic link to the same bytes",
        async (copy) => {
          await Deno.rename(`${copy}/coordinator.yml`, `${dir}/elsewhere-${n}.yml`);
          await Deno.symlink(`${dir}/elsewhere-${n}.yml`, `${copy}/coordinator.yml`);
        },
        /FAILED coordinator\.yml: not a regular file/,
        false,
      );
      await tampered(
        "a truncated signature",
        async (copy) => {
          const sig = await Deno.readFile(`${copy}/SHA256SUMS.sig`);
          await Deno.writeFile(`${copy}/SHA256SUMS.sig`, sig.subarray(0, 63));
        },
        /SHA256SUMS\.sig: 63 bytes, an Ed25519 signature is 64/,
        true,
      );
      await tampered(
        "a garbled signature",
        async (copy) => {
          const sig = await Deno.readFile(`${copy}/SHA256SUMS.sig`);
          sig[10]! ^= 0x01;
          await Deno.writeFile(`${copy}/SHA256SUMS.sig`, sig);
        },
        /SHA256SUMS\.sig: does not verify/,
        true,
      );
      await tampered(
        "no signature",
        (copy) => Deno.remove(`${copy}/SHA256SUMS.sig`),
        /SHA256SUMS\.sig: missing: the release is not signed/,
        true,
      );

      await t.step("bad usage or input exits 2", async () => {
        const cases: [string[], RegExp][] = [
          [[out], /give --public-key and one release folder/],
          [["--public-key", pub], /give --public-key and one release folder/],
          [["--public-key", pub, out, out], /give --public-key and one release folder/],
          [["--public-key", `${dir}/none.pem`, out], /--public-key .*none\.pem: file not found/],
          [["--public-key", key, out], /a private key: give the public key/],
          [["--public-key", `${out}/runtime.yml`, out], /not a PEM file/],
          [["--public-key", pub, `${dir}/nowhere`], /nowhere: cannot be read/],
          [["--public-key", pub, `${out}/runtime.yml`], /runtime\.yml: not a folder/],
          [["--key", pub, out], /Unknown option '--key'/],
        ];
        for (const [args, expected] of cases) {
          const ran = await verify(...args);
          assert.equal(ran.code, 2, `${args.join(" ")}: ${ran.stderr}`);
          assert.match(ran.stderr, expected);
          assert.ok(!ran.stderr.includes(pemSecret(keyText)), "key material printed");
        }
      });
    }, { prefix: "contrast-release-signing-" }),
});

Deno.test({
  name: "an unsigned release says so and the verifier refuses it; signing changes no other file",
  sanitizeResources: false,
  sanitizeOps: false,
  ignore: NO_OPENSSL !== undefined,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/images.lock.json`, encodeImageLock(TEST_LOCK));
      const { key, pub } = await keyPair(dir, "release");
      const out = `${dir}/release`;
      const made = await release(dir, out);
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stderr, /notice: SHA256SUMS is unsigned \(no --signing-key\)/);
      assert.ok(!filesBelow(out).includes("SHA256SUMS.sig"));
      const refused = await verify("--public-key", pub, out);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /SHA256SUMS\.sig: missing: the release is not signed/);

      // Signing adds SHA256SUMS.sig and changes nothing else: the README's rebuild check (an
      // unsigned rebuild's SHA256SUMS against the downloaded one) holds for a signed release.
      const signed = `${dir}/signed`;
      const made2 = await release(dir, signed, "--signing-key", key);
      assert.equal(made2.code, 0, made2.stderr);
      assert.deepEqual(filesBelow(signed), [...filesBelow(out), "SHA256SUMS.sig"].sort());
      for (const file of filesBelow(out)) {
        assert.deepEqual(
          await Deno.readFile(`${signed}/${file}`),
          await Deno.readFile(`${out}/${file}`),
        );
      }
    }, { prefix: "contrast-release-signing-" }),
});

Deno.test({
  name: "release --signing-key refuses a bad key file: exit 2, nothing built or written",
  ignore: NO_OPENSSL !== undefined,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/images.lock.json`, encodeImageLock(TEST_LOCK));
      const { key, pub } = await keyPair(dir, "good");
      const gen = async (name: string, ...args: string[]) => {
        const ran = await openssl("genpkey", ...args, "-out", `${dir}/${name}`);
        assert.equal(ran.code, 0, ran.stderr);
        return `${dir}/${name}`;
      };
      const ecTraditional = `${dir}/ec-traditional.pem`;
      const ec = await openssl(
        "ecparam",
        "-genkey",
        "-name",
        "prime256v1",
        "-noout",
        "-out",
        ecTraditional,
      );
      assert.equal(ec.code, 0, ec.stderr);
      const derKey = `${dir}/ed25519.der`;
      assert.equal((await openssl("pkey", "-in", key, "-outform", "DER", "-out", derKey)).code, 0);
      await Deno.mkdir(`${dir}/a-folder.pem`);
      const keyText = await Deno.readTextFile(key);
      const body = keyText.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
      const garbled = `${dir}/garbled.pem`;
      // The base64 body with its DER cut short: a PEM block whose DER is no PrivateKeyInfo.
      await Deno.writeTextFile(
        garbled,
        `-----BEGIN PRIVATE KEY-----\n${body.slice(0, 40)}\n-----END PRIVATE KEY-----\n`,
      );
      const twoKeys = `${dir}/two.pem`;
      await Deno.writeTextFile(twoKeys, keyText + keyText);

      const cases: [string, RegExp][] = [
        [`${dir}/missing.pem`, /--signing-key .*missing\.pem: file not found/],
        [`${dir}/a-folder.pem`, /a-folder\.pem: is a directory, expected a file/],
        [`${dir}/images.lock.json`, /not a PEM file \(no BEGIN line\)/],
        [derKey, /not a PEM file/],
        [twoKeys, /2 PEM blocks, expected exactly one key/],
        [pub, /a PEM block labelled PUBLIC KEY, not a PKCS#8 private key/],
        [ecTraditional, /a PEM block labelled EC PRIVATE KEY, not a PKCS#8 private key/],
        [garbled, /PrivateKeyInfo/],
        [
          await gen("rsa.pem", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"),
          /key of algorithm RSA \(1\.2\.840\.113549\.1\.1\.1\), not Ed25519/,
        ],
        [
          await gen("p256.pem", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"),
          /key of algorithm EC \(1\.2\.840\.10045\.2\.1\), not Ed25519/,
        ],
        [
          await gen("x25519.pem", "-algorithm", "x25519"),
          /key of algorithm X25519 \(1\.3\.101\.110\), not Ed25519/,
        ],
        [
          await gen("ed448.pem", "-algorithm", "ed448"),
          /key of algorithm Ed448 \(1\.3\.101\.113\), not Ed25519/,
        ],
        [
          await gen("encrypted.pem", "-algorithm", "ed25519", "-aes-256-cbc", "-pass", "pass:x"),
          /an encrypted PKCS#8 key \(BEGIN ENCRYPTED PRIVATE KEY\)/,
        ],
      ];
      for (const [file, expected] of cases) {
        const out = `${dir}/dist/release`;
        const ran = await release(dir, out, "--signing-key", file);
        assert.equal(ran.code, 2, `${file}: ${ran.stderr}`);
        assert.match(ran.stderr, expected);
        assert.ok(!ran.stderr.includes(pemSecret(keyText)), "key material printed");
        assert.doesNotMatch(ran.stderr, /release written/);
        assert.ok(!Deno.readDirSync(dir).some((e) => e.name === "dist"), `${file}: wrote dist/`);
      }
    }),
});
