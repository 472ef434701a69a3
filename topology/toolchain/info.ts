/** What a report says of the toolchain a lab ran in. */
export interface ToolchainInfo {
  name: string;
  /** The lock's hash (the toolchain file's): the same hash, the same packages. */
  hash: string;
  /** The versions of the packages a verdict depends on most (KEY_PACKAGES), as the root holds them. */
  versions: Record<string, string>;
}

/** The packages whose versions a report header names: the daemons and the fabric's tools. */
export const KEY_PACKAGES = [
  "incus-base",
  "liblxc1",
  "openvswitch-switch",
  "ovn-central",
  "neutron-common",
  "python3-nova",
  "mariadb-server",
  "rabbitmq-server",
  "iproute2",
  "nftables",
  "dnsmasq-base",
];
