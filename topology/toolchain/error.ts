/** A toolchain that is missing, unbuildable or does not match its lock (the CLI exits 3: the machine is not ready). */
export class ToolchainError extends Error {
  override name = "ToolchainError";
}
