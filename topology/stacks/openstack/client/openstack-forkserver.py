#!/usr/bin/python3
# The real `openstack` client with its start-up paid once (labwright, stacks/openstack/client/).
#
# /usr/bin/openstack imports openstackclient and its SDK (about 1.5 s of CPU) for every command.
# This process imports them once, then serves one command per connection on a unix socket: it forks,
# and the child runs the very entry point /usr/bin/openstack runs, openstackclient.shell.main(argv),
# with standard input from /dev/null and its standard output and error captured, in this process's
# environment (the node's: the same as a command typed there), network namespace and directory.
# Request: one JSON line {"argv": [...]}. Answer: one JSON line {"exitCode", "stdout", "stderr"}.
# The client closing its connection (a timeout) kills the command.
import json
import os
import select
import signal
import socket
import sys


def preload():
    # cliff names the program from sys.argv[0] when it is imported: as /usr/bin/openstack does.
    sys.argv = ["/usr/bin/openstack"]
    import openstackclient.shell  # noqa: F401  (cliff, osc_lib, keystoneauth1)
    import openstack  # noqa: F401  (the SDK behind the network commands)
    from openstackclient.network.v2 import (  # noqa: F401
        floating_ip,
        network,
        port,
        router,
        security_group,
        security_group_rule,
        subnet,
    )


def child(argv):
    """In the forked command process: what /usr/bin/openstack does, then exit with its code."""
    code = 1
    try:
        from openstackclient.shell import main

        sys.argv = ["/usr/bin/openstack"] + argv
        code = main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # as the interpreter would: the traceback on stderr, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def serve(conn):
    """In a per-connection process: run one command, answer with its result."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    argv = json.loads(data)["argv"]
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        conn.close()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for fd in (devnull, out_r, out_w, err_r, err_w):
            os.close(fd)
        child(argv)
    os.close(out_w)
    os.close(err_w)
    bufs = {out_r: b"", err_r: b""}
    open_fds = [out_r, err_r]
    while open_fds:
        ready, _, _ = select.select(open_fds + [conn], [], [])
        if conn in ready and not conn.recv(1, socket.MSG_PEEK):
            os.kill(pid, signal.SIGKILL)  # the client gave up (its timeout)
            os.waitpid(pid, 0)
            return
        for fd in ready:
            if fd is conn:
                continue
            chunk = os.read(fd, 65536)
            if chunk:
                bufs[fd] += chunk
            else:
                open_fds.remove(fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    answer = {"exitCode": code if code >= 0 else None, "signal": -code if code < 0 else None,
              "stdout": bufs[out_r].decode("utf-8", "replace"), "stderr": bufs[err_r].decode("utf-8", "replace")}
    conn.sendall(json.dumps(answer).encode() + b"\n")


def main():
    path = sys.argv[1]
    preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # per-connection processes reap themselves
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path + ".tmp")
    os.chmod(path + ".tmp", 0o600)
    os.rename(path + ".tmp", path)  # ready when the socket has its name
    s.listen(16)
    while True:
        conn, _ = s.accept()
        if os.fork() == 0:
            s.close()
            try:
                serve(conn)
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    main()
