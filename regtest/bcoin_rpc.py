#!/usr/bin/env python3
"""JSON-RPC client for a bcoin node (standard library only).

Usage:
  bcoin_rpc.py [-r] METHOD [PARAMS...]
      Calls METHOD and prints its result as JSON (with -r, a string result is
      printed raw, without quotes). Each parameter is a JSON literal; a word that
      is not valid JSON is sent as a string (quote it, e.g. '"0123"', to be sure).
  bcoin_rpc.py --wait-ready TIMEOUT_S
      Retries getblockcount until the node answers or TIMEOUT_S passes.

The node is taken from the environment (as written to a stack's env file):
  BCOIN_RPC_URL   e.g. http://127.0.0.1:48332/
  BCOIN_API_KEY   HTTP basic auth password (any user name)

Exit status: 0 success, 1 RPC error, 3 connection failure or timeout, 2 usage.
"""

import base64
import json
import os
import socket
import sys
import time
from urllib.parse import urlsplit


class RpcError(Exception):
    pass


def _http_post(url, headers, body, timeout):
    """Minimal HTTP/1.1 POST over a plain socket (urllib/http.client add ~0.1 s
    of import time to every call, which adds up in test harnesses)."""
    u = urlsplit(url)
    if u.scheme != "http":
        raise RpcError("only http:// URLs are supported: %s" % url)
    host, port = u.hostname, u.port or 80
    head = "POST %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\nContent-Length: %d\r\n" % (
        u.path or "/", host, port, len(body))
    head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(head.encode() + body)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    header_blob, sep, payload = raw.partition(b"\r\n\r\n")
    if not sep:
        raise RpcError("malformed HTTP response from %s" % url)
    lines = header_blob.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise RpcError("malformed HTTP status line: %r" % lines[0]) from None
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", payload
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        payload = out
    elif "content-length" in hdrs:
        payload = payload[: int(hdrs["content-length"])]
    return status, payload


def call(url, key, method, params, timeout=60):
    body = json.dumps({"jsonrpc": "1.0", "id": 1, "method": method, "params": params}).encode()
    auth = base64.b64encode(("btc-anchor:" + key).encode()).decode()
    status, raw = _http_post(
        url, {"Content-Type": "application/json", "Authorization": "Basic " + auth}, body, timeout
    )
    try:
        reply = json.loads(raw)
    except ValueError:
        # bcoin answers RPC errors with a JSON body; anything else is an HTTP failure.
        hint = " (wrong BCOIN_API_KEY?)" if status == 401 else ""
        raise RpcError("HTTP %d%s %s" % (status, hint, raw.decode(errors="replace").strip())) from None
    if not isinstance(reply, dict):
        raise RpcError("unexpected reply: %r" % (reply,))
    err = reply.get("error")
    if err:
        if isinstance(err, dict):
            raise RpcError("%s (code %s)" % (err.get("message"), err.get("code")))
        raise RpcError(str(err))
    return reply.get("result")


def parse_param(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv):
    url = os.environ.get("BCOIN_RPC_URL")
    key = os.environ.get("BCOIN_API_KEY")
    if not url or key is None:
        sys.stderr.write("bcoin_rpc.py: BCOIN_RPC_URL and BCOIN_API_KEY must be set\n")
        return 2
    args = argv[1:]
    if len(args) == 2 and args[0] == "--wait-ready":
        deadline = time.monotonic() + float(args[1])
        last = None
        while time.monotonic() < deadline:
            try:
                print(json.dumps(call(url, key, "getblockcount", [], timeout=5)))
                return 0
            except (OSError, ValueError, RpcError) as e:
                last = e
            time.sleep(0.1)
        sys.stderr.write("bcoin RPC %s not ready after %ss: %s\n" % (url, args[1], last))
        return 3
    raw = False
    if args and args[0] == "-r":
        raw = True
        args = args[1:]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    method, params = args[0], [parse_param(p) for p in args[1:]]
    try:
        result = call(url, key, method, params)
    except RpcError as e:
        sys.stderr.write("bcoin RPC error: %s: %s\n" % (method, e))
        return 1
    except (OSError, ValueError) as e:
        sys.stderr.write("bcoin RPC %s unreachable: %s\n" % (url, e))
        return 3
    if raw and isinstance(result, str):
        print(result)
    else:
        print(json.dumps(result, indent=2 if isinstance(result, (dict, list)) else None))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BrokenPipeError:  # reader went away (e.g. `| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
