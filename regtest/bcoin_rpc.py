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
import sys
import time
import urllib.error
import urllib.request


class RpcError(Exception):
    pass


def call(url, key, method, params, timeout=60):
    body = json.dumps({"jsonrpc": "1.0", "id": 1, "method": method, "params": params}).encode()
    auth = base64.b64encode(("btc-anchor:" + key).encode()).decode()
    req = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Basic " + auth},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        # bcoin answers RPC errors with a JSON body; anything else is an HTTP failure.
        raw = e.read()
        try:
            json.loads(raw)
        except ValueError:
            raise RpcError("HTTP %d %s" % (e.code, raw.decode(errors="replace").strip())) from None
    reply = json.loads(raw)
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
    sys.exit(main(sys.argv))
