// Runs inside a lab node (the backend's way into it, then `node net-helper.mjs ...`) and prints one
// JSON line. Usage: tcp <host> <port> <timeoutMs> | http <url> <timeoutMs>
//                 | pipe <host> <port>: a TCP connection on stdin/stdout (an SSH ProxyCommand from inside a lab)
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
} else {
  done({ error: `unknown mode ${mode}` });
}
