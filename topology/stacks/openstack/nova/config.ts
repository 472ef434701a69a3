import { join } from "node:path";
import { renderIni, type Ini } from "../../../model/commands/ini.ts";
import type { KollaGlobals } from "../../../model/commands/kolla-globals.ts";
import { PASSWORDS, type NodeFacts, type OpenstackPaths } from "../kolla/config.ts";
import { installedVersion } from "../neutron/services.ts";

/**
 * nova, placement and glance as kolla-ansible renders them for an all-in-one node with
 * `enable_nova_fake: "yes"` (roles/nova, nova-cell, placement and glance templates, with kolla's
 * defaults), for the real Debian 12 daemons. What labwright changes is marked `labwright:` in the
 * files and listed in docs/lab-files.md:
 * - no keystone: every API's pipeline is kolla's keystone pipeline with the token check
 *   (keystonemiddleware's authtoken) replaced by a filter that sets the identity authtoken would
 *   set — user admin, project `fake_project_id` (the project neutron's noauth gives every request),
 *   roles admin, member, reader; placement runs its own `noauth2`, and nova reaches placement with
 *   an admin token and neutron with no auth;
 * - one fake compute named after the node (kolla's fake computes are `<host>_nova_compute_fake_<n>`,
 *   under which no neutron agent reports: their ports could not be bound here);
 * - one worker per API (kolla: min(vCPUs, 5)), the eventlet servers instead of Apache mod_wsgi,
 *   placement under uwsgi as Debian's placement-api package runs it;
 * - paths are the node's directory, not kolla's container volumes.
 */

/**
 * The installed nova, placement and glance (Debian 12's python3-nova, -placement, -glance), e.g.
 * "nova 26.2.2, placement 8.0.0, glance 25.1.0"; throws naming what is missing.
 */
export function novaVersions(root = "/"): string {
  const dir = join(root, "/usr/lib/python3/dist-packages");
  // placement's distribution is named openstack-placement.
  const found = (["nova", "placement", "glance"] as const).map(
    (n) => [n, installedVersion(dir, n === "placement" ? "openstack_placement" : n)] as const,
  );
  const missing = found.filter(([, v]) => v === undefined).map(([n]) => `python3-${n}`);
  if (missing.length)
    throw new Error(
      `enable_nova_fake runs the real nova, placement and glance, and ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not installed: install with scripts/setup.sh (Debian 12: apt-get install --no-install-recommends python3-nova python3-placement python3-glance)`,
    );
  return found.map(([n, v]) => `${n} ${v}`).join(", ");
}

export const NOVA_API_PORT = 8774;
export const PLACEMENT_PORT = 8780;
export const GLANCE_PORT = 9292;

/** Where nova's, placement's and glance's files live in the node's directory. */
export function novaPaths(paths: OpenstackPaths): { etc: string; python: string; state: string; images: string } {
  const etc = join(paths.etc, "nova");
  return { etc, python: join(etc, "python"), state: join(paths.state, "nova"), images: join(paths.state, "glance") };
}

const ini = (sections: Record<string, Record<string, string | number | boolean>>): Ini =>
  new Map(Object.entries(sections).map(([s, kv]) => [s, new Map(Object.entries(kv).map(([k, v]) => [k, String(v)]))]));

/** The filter that stands in for keystone's token check: what auth_token would put in the request. */
export const IDENTITY_FILTER = `"""labwright: the identity keystone's auth_token middleware sets, for a cloud without keystone."""


def filter_factory(global_conf, **local):
    fields = {
        "HTTP_X_IDENTITY_STATUS": "Confirmed",
        "HTTP_X_USER_ID": local.get("user_id", "admin"),
        "HTTP_X_USER_NAME": local.get("user_id", "admin"),
        "HTTP_X_PROJECT_ID": local.get("project_id", "fake_project_id"),
        "HTTP_X_PROJECT_NAME": local.get("project_id", "fake_project_id"),
        "HTTP_X_TENANT_ID": local.get("project_id", "fake_project_id"),
        "HTTP_X_ROLES": local.get("roles", "admin,member,reader"),
    }

    def wrap(app):
        def call(environ, start_response):
            environ.update(fields)
            environ.setdefault("HTTP_X_AUTH_TOKEN", "notused")
            return app(environ, start_response)

        return call

    return wrap
`;

/** nova's API pipelines (its etc/nova/api-paste.ini), the keystone pipeline with the identity filter for authtoken. */
function novaPaste(): string {
  const pipe = (extra: string) =>
    `cors http_proxy_to_wsgi compute_req_id faultwrap request_log sizelimit osprofiler labwright_identity keystonecontext ${extra}osapi_compute_app_v21`;
  const f = (name: string, factory: string, more = "") => `[filter:${name}]\npaste.filter_factory = ${factory}\n${more}`;
  return [
    "# nova's API pipelines (labwright: keystone's authtoken replaced by labwright_identity: no keystone here)",
    "[composite:osapi_compute]",
    "use = call:nova.api.openstack.urlmap:urlmap_factory",
    "/: oscomputeversions",
    "/v2: oscomputeversion_legacy_v2",
    "/v2.1: oscomputeversion_v2",
    "/v2/+: openstack_compute_api_v21_legacy_v2_compatible",
    "/v2.1/+: openstack_compute_api_v21",
    "",
    "[composite:openstack_compute_api_v21]",
    "use = call:nova.api.auth:pipeline_factory_v21",
    `keystone = ${pipe("")}`,
    "",
    "[composite:openstack_compute_api_v21_legacy_v2_compatible]",
    "use = call:nova.api.auth:pipeline_factory_v21",
    `keystone = ${pipe("legacy_v2_compatible ")}`,
    "",
    "[pipeline:oscomputeversions]",
    "pipeline = cors faultwrap request_log http_proxy_to_wsgi oscomputeversionapp",
    "[pipeline:oscomputeversion_v2]",
    "pipeline = cors compute_req_id faultwrap request_log http_proxy_to_wsgi oscomputeversionapp_v2",
    "[pipeline:oscomputeversion_legacy_v2]",
    "pipeline = cors compute_req_id faultwrap request_log http_proxy_to_wsgi legacy_v2_compatible oscomputeversionapp_v2",
    "[app:oscomputeversionapp]",
    "paste.app_factory = nova.api.openstack.compute.versions:Versions.factory",
    "[app:oscomputeversionapp_v2]",
    "paste.app_factory = nova.api.openstack.compute.versions:VersionsV2.factory",
    "[app:osapi_compute_app_v21]",
    "paste.app_factory = nova.api.openstack.compute:APIRouterV21.factory",
    f("request_log", "nova.api.openstack.requestlog:RequestLog.factory"),
    f("compute_req_id", "nova.api.compute_req_id:ComputeReqIdMiddleware.factory"),
    f("faultwrap", "nova.api.openstack:FaultWrapper.factory"),
    f("osprofiler", "nova.profiler:WsgiMiddleware.factory"),
    f("sizelimit", "oslo_middleware:RequestBodySizeLimiter.factory"),
    f("http_proxy_to_wsgi", "oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory"),
    f("legacy_v2_compatible", "nova.api.openstack:LegacyV2CompatibleWrapper.factory"),
    f("cors", "oslo_middleware.cors:filter_factory", "oslo_config_project = nova\n"),
    f("keystonecontext", "nova.api.auth:NovaKeystoneContext.factory"),
    f("labwright_identity", "labwright_identity:filter_factory"),
  ].join("\n");
}

/** glance's API pipelines (its etc/glance-api-paste.ini): kolla's `keystone` flavor, the identity filter for authtoken. */
function glancePaste(): string {
  return [
    "# glance's API pipelines (labwright: keystone's authtoken replaced by labwright_identity: no keystone here)",
    "[pipeline:glance-api-keystone]",
    "pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation osprofiler labwright_identity context rootapp",
    "[composite:rootapp]",
    "paste.composite_factory = glance.api:root_app_factory",
    "/: apiversions",
    "/v2: apiv2app",
    "[app:apiversions]",
    "paste.app_factory = glance.api.versions:create_resource",
    "[app:apiv2app]",
    "paste.app_factory = glance.api.v2.router:API.factory",
    "[filter:healthcheck]",
    "paste.filter_factory = oslo_middleware:Healthcheck.factory",
    "backends = disable_by_file",
    "disable_by_file_path = /etc/glance/healthcheck_disable",
    "[filter:versionnegotiation]",
    "paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory",
    "[filter:context]",
    "paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory",
    "[filter:osprofiler]",
    "paste.filter_factory = osprofiler.web:WsgiMiddleware.factory",
    "[filter:cors]",
    "paste.filter_factory = oslo_middleware.cors:filter_factory",
    "oslo_config_project = glance",
    "oslo_config_program = glance-api",
    "[filter:http_proxy_to_wsgi]",
    "paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory",
    "[filter:labwright_identity]",
    "paste.filter_factory = labwright_identity:filter_factory",
    "",
  ].join("\n");
}

export interface NovaConfig {
  /** Path (under novaPaths().etc) → contents. */
  files: Record<string, string>;
}

/** The database URLs of nova's cells (what kolla's map_cell0 and create_cell store in nova_api). */
export function cellUrls(facts: Pick<NodeFacts, "vip">): { cell0Db: string; cell1Db: string; transport: string } {
  const db = (name: string) => `mysql+pymysql://nova:${PASSWORDS.database}@${facts.vip}/${name}`;
  return { cell0Db: db("nova_cell0"), cell1Db: db("nova"), transport: `rabbit://openstack:${PASSWORDS.rabbitmq}@${facts.vip}:5672//` };
}

export function renderNovaConfig(g: KollaGlobals, facts: NodeFacts, paths: OpenstackPaths): NovaConfig {
  const p = novaPaths(paths);
  const header = (file: string) =>
    `# ${file} as kolla-ansible ${g.release} renders it with enable_nova_fake for this node (labwright: changes marked)`;
  const urls = cellUrls(facts);
  const db = (name: string) =>
    `mysql+pymysql://${name === "glance" || name === "placement" ? name : "nova"}:${PASSWORDS.database}@${facts.vip}/${name}`;
  const common = {
    DEFAULT: {
      debug: "False",
      log_dir: paths.log,
      state_path: p.state,
      transport_url: urls.transport,
      my_ip: facts.apiAddress,
      "# labwright: one fake compute named after the node, whose ports neutron's agent there binds (kolla: <host>_nova_compute_fake_<n>)":
        "",
      host: facts.hostname,
      compute_driver: "fake.FakeDriver",
      "# labwright: the compute API only, one worker (kolla: Apache mod_wsgi, min(vCPUs, 5) processes; the metadata API apart)": "",
      enabled_apis: "osapi_compute",
      osapi_compute_listen: facts.apiAddress,
      osapi_compute_listen_port: NOVA_API_PORT,
      osapi_compute_workers: 1,
    },
    api: { use_forwarded_for: "true" },
    wsgi: { api_paste_config: join(p.etc, "nova-api-paste.ini") },
    conductor: { workers: 1 },
    scheduler: { max_attempts: 10, discover_hosts_in_cells_interval: -1, workers: 1 },
    filter_scheduler: { enabled_filters: "ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter" },
    glance: { api_servers: `http://${facts.vip}:${GLANCE_PORT}` },
    neutron: {
      "# labwright: no keystone here (kolla: auth_type password against keystone)": "",
      auth_type: "none",
      endpoint: `http://${facts.vip}:9696`,
      endpoint_override: `http://${facts.vip}:9696`,
    },
    placement: {
      "# labwright: no keystone here; placement's noauth2 takes the token admin as its admin": "",
      auth_type: "admin_token",
      token: "admin",
      endpoint: `http://${facts.vip}:${PLACEMENT_PORT}`,
      endpoint_override: `http://${facts.vip}:${PLACEMENT_PORT}`,
    },
    vnc: { novncproxy_host: facts.apiAddress, novncproxy_port: 6080, novncproxy_base_url: `http://${facts.vip}:6080/vnc_lite.html` },
    oslo_concurrency: { lock_path: join(p.state, "tmp") },
    oslo_messaging_notifications: { transport_url: urls.transport, driver: "noop" },
    oslo_messaging_rabbit: { heartbeat_in_pthread: "false" },
    upgrade_levels: { compute: "auto" },
  };
  // nova-api, -scheduler and -conductor reach the databases; nova-compute has none (kolla's nova-cell template).
  const withDb = ini({
    ...common,
    api_database: { connection: db("nova_api"), max_retries: -1 },
    database: { connection: db("nova"), max_retries: -1 },
  });
  const compute = ini(common);
  const placement = ini({
    DEFAULT: { debug: "False", log_dir: paths.log },
    api: { "# labwright: no keystone here": "", auth_strategy: "noauth2" },
    placement_database: { connection: db("placement"), max_retries: -1 },
    oslo_concurrency: { lock_path: join(p.state, "tmp") },
  });
  const glance = ini({
    DEFAULT: {
      debug: "False",
      log_file: join(paths.log, "glance-api.log"),
      use_stderr: "False",
      bind_host: facts.apiAddress,
      bind_port: GLANCE_PORT,
      "# labwright: one worker (kolla: min(vCPUs, 5))": "",
      workers: 1,
      enabled_backends: "file:file, http:http",
      transport_url: urls.transport,
    },
    database: { connection: db("glance"), max_retries: -1 },
    glance_store: { default_backend: "file" },
    file: { filesystem_store_datadir: join(p.images, "images") },
    os_glance_tasks_store: { filesystem_store_datadir: join(p.images, "tasks") },
    os_glance_staging_store: { filesystem_store_datadir: join(p.images, "staging") },
    paste_deploy: { flavor: "keystone", config_file: join(p.etc, "glance-api-paste.ini") },
    oslo_concurrency: { lock_path: join(p.state, "tmp") },
    oslo_messaging_notifications: { transport_url: urls.transport, driver: "noop" },
  });
  return {
    files: {
      "nova.conf": `${header("nova.conf (nova-api, nova-scheduler, nova-conductor)")}\n${renderIni(withDb)}`,
      "nova-compute.conf": `${header("nova.conf (nova-compute)")}\n${renderIni(compute)}`,
      "placement.conf": `${header("placement.conf")}\n${renderIni(placement)}`,
      "glance-api.conf": `${header("glance-api.conf")}\n${renderIni(glance)}`,
      "nova-api-paste.ini": novaPaste(),
      "glance-api-paste.ini": glancePaste(),
      "python/labwright_identity.py": IDENTITY_FILTER,
    },
  };
}

/**
 * The client's configuration when nova runs: novaclient (what python-openstackclient 6.0 still uses
 * for `server create` and `server list`) takes its endpoint from `auth.endpoint` only; the SDK-based
 * commands read each service's `<service>_endpoint_override`.
 */
export function novaCloudsYaml(vip: string): string {
  return [
    "# clouds.yaml of the lab's cloud (labwright: no keystone, so no auth; nova, glance, placement and neutron by their endpoints)",
    "clouds:",
    "  kolla-admin:",
    "    auth_type: none",
    "    auth:",
    `      endpoint: http://${vip}:${NOVA_API_PORT}/v2.1`,
    `    compute_endpoint_override: http://${vip}:${NOVA_API_PORT}/v2.1`,
    `    network_endpoint_override: http://${vip}:9696`,
    `    image_endpoint_override: http://${vip}:${GLANCE_PORT}`,
    `    placement_endpoint_override: http://${vip}:${PLACEMENT_PORT}`,
    "",
  ].join("\n");
}
