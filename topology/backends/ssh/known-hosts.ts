import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

/** A host key as ssh sends it: the wire-format blob. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named at the start of a wire-format blob (ssh-ed25519, ecdsa-sha2-nistp256, ...). */
export function keyType(blob: Buffer): string {
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString("latin1");
}

/** How OpenSSH names a host in known_hosts: `addr`, or `[addr]:port` off port 22. */
function entryName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function matches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  return pattern.split(",").includes(name);
}

export type KeyVerdict = { ok: true } | { ok: false; why: string };

/**
 * Checks a host key against a known_hosts file. An unknown key and a changed key are both refused,
 * with the fingerprint and what to do: labwright never accepts a key on its own.
 */
export function verifyHostKey(file: string, host: string, address: string, port: number, blob: Buffer): KeyVerdict {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    /* no file: every key is unknown */
  }
  const name = entryName(address, port);
  const type = keyType(blob);
  const known = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#") && !l.startsWith("@"))
    .map((l) => l.split(/\s+/))
    .filter((f) => f.length >= 3 && matches(f[0]!, name));
  const fp = fingerprint(blob);
  if (known.some((f) => f[1] === type && Buffer.from(f[2]!, "base64").equals(blob))) return { ok: true };
  if (known.some((f) => f[1] === type)) {
    return {
      ok: false,
      why: `host key of ${host} (${name}) has CHANGED: it now offers ${type} ${fp}, which is not the key in ${file}. Refusing to connect. If the host was really reinstalled, check the new fingerprint with its administrator, then: ssh-keygen -f ${file} -R '${name}' && ssh-keyscan -p ${port} ${address} >> ${file}`,
    };
  }
  return {
    ok: false,
    why: `host key of ${host} (${name}) is unknown: it offers ${type} ${fp}, and ${file} has no key for it. Check the fingerprint with the host's administrator, then accept it: ssh-keyscan -p ${port} -t ${type} ${address} >> ${file}`,
  };
}
