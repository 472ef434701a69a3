// Runs inside a lab node (the backend's way into it, then `node net-helper.mjs ...`) and prints one
// JSON line. Usage: tcp <host> <port> <timeoutMs> | http <url> <timeoutMs>
//                 | pipe <host> <port>: a TCP connection on stdin/stdout (an SSH ProxyCommand from inside a lab)
//                 | watch <tcp|http|dns> <intervalMs> <host> <port> | <url> | <name>: a probe started every
//                   interval until SIGINT, a line per answer as ping -D prints its replies (see probes/watch.ts)
import dns from "node:dns";
import net from "node:net";
import http from "node:http";

const [mode, ...args] = process.argv.slice(2);
const t0 = performance.now();
const done = (o) => {
  process.stdout.write(JSON.stringify({ ...o, ms: Math.round((performance.now() - t0) * 1000) / 1000 }) + "\n");
  process.exit(0);
};

if (mode === "tcp") {
  const [host, port, timeout] = args;
  const s = net.connect({ host, port: Number(port), family: 4 });
  s.setTimeout(Number(timeout), () => {
    s.destroy();
    done({ open: false, error: "timeout" });
  });
  s.on("connect", () => {
    const address = s.remoteAddress;
    s.destroy();
    done({ open: true, address });
  });
  s.on("error", (e) => done({ open: false, error: e.code ?? e.message }));
} else if (mode === "http") {
  const [url, timeout] = args;
  const req = http.get(url, { family: 4, timeout: Number(timeout) }, (res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (c) => {
      if (body.length < 4096) body += c;
    });
    res.on("end", () => done({ status: res.statusCode, body, address: res.socket?.remoteAddress }));
  });
  req.on("timeout", () => {
    req.destroy();
    done({ error: "timeout" });
  });
  req.on("error", (e) => done({ error: e.code ?? e.message }));
} else if (mode === "pipe") {
  const [host, port] = args;
  const s = net.connect({ host, port: Number(port), family: 4 });
  process.stdin.pipe(s);
  s.pipe(process.stdout);
  s.on("close", () => process.exit(0));
  s.on("error", (e) => {
    process.stderr.write(`net-helper pipe: ${e.message}\n`);
    process.exit(1);
  });
} else if (mode === "watch") {
  watch(args);
} else {
  done({ error: `unknown mode ${mode}` });
}

/**
 * A probe every interval, each given 1 s (as ping -W 1), whether or not the last one answered. Each
 * answer: `[<epoch s>] seq=<n> ok ms=<duration>`; each failure: `[<epoch s>] seq=<n> fail <why>`; at
 * SIGINT, `<n> probes started`. The first line names the target (`WATCH <kind> <target>`).
 */
function watch([kind, interval, ...target]) {
  const WAIT = 1000;
  const resolver = new dns.promises.Resolver({ timeout: WAIT, tries: 1 });
  const out = (line) => process.stdout.write(line + "\n");
  const now = () => ((performance.timeOrigin + performance.now()) / 1000).toFixed(6);
  const once = {
    tcp: ([host, port]) =>
      new Promise((ok, fail) => {
        const s = net.connect({ host, port: Number(port), family: 4 });
        s.on("connect", () => (s.destroy(), ok()));
        s.on("error", (e) => fail(e.code ?? e.message));
      }),
    // A new connection for each GET (no keep-alive): every probe sees the path as a new client would.
    http: ([url]) =>
      new Promise((ok, fail) => {
        const req = http.get(url, { family: 4, agent: false }, (res) => {
          res.resume();
          res.on("end", () => (res.statusCode < 400 ? ok() : fail(`HTTP ${res.statusCode}`)));
        });
        req.on("error", (e) => fail(e.code ?? e.message));
      }),
    // A DNS query (A) to the node's nameserver (its resolv.conf), one try of 1 s: the service as a
    // client's first query sees it. Not getaddrinfo: a lost query there blocks a lookup thread for
    // resolv.conf's 5 s timeout, and the next probes queue behind it. /etc/hosts is not consulted.
    dns: ([name]) => resolver.resolve4(name).then((a) => (a.length ? undefined : Promise.reject("no address"))),
  }[kind];
  if (!once) {
    out(`unknown watch kind ${kind}`);
    process.exit(2);
  }
  let seq = 0;
  const probe = () => {
    const n = ++seq;
    const t = performance.now();
    let timer;
    const late = new Promise((_, fail) => (timer = setTimeout(() => fail("timeout"), WAIT)));
    Promise.race([once(target), late])
      .then(
        () => out(`[${now()}] seq=${n} ok ms=${(performance.now() - t).toFixed(3)}`),
        (e) => out(`[${now()}] seq=${n} fail ${e?.code ?? String(e)}`),
      )
      .finally(() => clearTimeout(timer));
  };
  out(`WATCH ${kind} ${target.join(" ")}`);
  probe();
  const every = setInterval(probe, Number(interval));
  process.on("SIGINT", () => {
    clearInterval(every);
    out(`${seq} probes started`);
    process.exit(0);
  });
}
