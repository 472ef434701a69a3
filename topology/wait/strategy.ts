import type { Daemon, Host } from "../backends/host.ts";

/** When a daemon is ready, said over a Host (in the manner of testcontainers' wait strategies). */
export interface WaitStrategy {
  /** What is awaited, for messages: "listen on udp/53". */
  readonly what: string;
  ready(host: Host, daemon: Daemon): Promise<boolean>;
}
