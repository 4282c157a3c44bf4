/**
 * Key material of a local control plane, made with `openssl`: a CA, the API server's serving
 * certificate for `127.0.0.1`/`localhost` signed by it, and the service-account signing key.
 *
 * @module
 */

/** Paths of the generated files. */
interface ControlPlaneKeys {
  /** CA certificate (PEM): trust anchor of the serving certificate, in the kubeconfig. */
  readonly caCert: string;
  /** Serving certificate (PEM), SANs IP:127.0.0.1, DNS:localhost, DNS:kubernetes.default.svc. */
  readonly servingCert: string;
  /** Serving key (PEM). */
  readonly servingKey: string;
  /** Service-account token signing key (PEM, private). */
  readonly serviceAccountKey: string;
  /** Its public key (PEM). */
  readonly serviceAccountPub: string;
}

async function openssl(args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}

/** Generates CA, serving certificate and service-account key pair into `dir`. */
export async function generateControlPlaneKeys(dir: string): Promise<ControlPlaneKeys> {
  const k: ControlPlaneKeys = {
    caCert: `${dir}/ca.crt`,
    servingCert: `${dir}/apiserver.crt`,
    servingKey: `${dir}/apiserver.key`,
    serviceAccountKey: `${dir}/sa.key`,
    serviceAccountPub: `${dir}/sa.pub`,
  };
  const caKey = `${dir}/ca.key`;
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  // deno-fmt-ignore
  await openssl([
    "req", "-x509", ...ec, "-keyout", caKey, "-out", k.caCert, "-days", "2",
    "-subj", "/CN=contrast-test-kubernetes-ca",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  // deno-fmt-ignore
  await openssl([
    "req", "-x509", ...ec, "-keyout", k.servingKey, "-out", k.servingCert, "-days", "2",
    "-CA", k.caCert, "-CAkey", caKey, "-subj", "/CN=kube-apiserver",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc",
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "keyUsage=critical,digitalSignature",
    "-addext", "extendedKeyUsage=serverAuth",
  ]);
  // deno-fmt-ignore
  await openssl([
    "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
    "-out", k.serviceAccountKey,
  ]);
  await openssl(["pkey", "-in", k.serviceAccountKey, "-pubout", "-out", k.serviceAccountPub]);
  return k;
}
