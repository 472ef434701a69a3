import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must } from "../run/exec.ts";

/**
 * The lab's certificate authority: made per run in the run's directory (never installed on this
 * machine), it signs the certificates of the lab's HTTPS services. Nodes that should trust it get
 * its file as SSL_CERT_FILE.
 */
export interface Pki {
  dir: string;
  caFile: string;
}

export function pkiOf(runDir: string): Pki {
  const dir = join(runDir, "pki");
  return { dir, caFile: join(dir, "ca.crt") };
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

export async function createCa(runDir: string): Promise<Pki> {
  const pki = pkiOf(runDir);
  mkdirSync(pki.dir, { recursive: true, mode: 0o700 });
  await must(
    [
      "openssl",
      "req",
      "-x509",
      ...EC,
      "-keyout",
      join(pki.dir, "ca.key"),
      "-out",
      pki.caFile,
      "-days",
      "7",
      "-subj",
      "/CN=labwright lab CA",
    ],
    { timeoutS: 30, context: "the lab's CA" },
  );
  return pki;
}

/** A server certificate for `host` signed by the lab's CA: returns the certificate and key files. */
export async function serverCert(pki: Pki, host: string): Promise<{ cert: string; key: string }> {
  const base = join(pki.dir, host);
  const ext = `${base}.ext`;
  writeFileSync(ext, `subjectAltName=DNS:${host}\n`);
  await must(["openssl", "req", ...EC, "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", `/CN=${host}`], {
    timeoutS: 30,
    context: `certificate request for ${host}`,
  });
  await must(
    [
      "openssl",
      "x509",
      "-req",
      "-in",
      `${base}.csr`,
      "-CA",
      pki.caFile,
      "-CAkey",
      join(pki.dir, "ca.key"),
      "-CAcreateserial",
      "-out",
      `${base}.crt`,
      "-days",
      "7",
      "-extfile",
      ext,
    ],
    { timeoutS: 30, context: `certificate for ${host}` },
  );
  return { cert: `${base}.crt`, key: `${base}.key` };
}
