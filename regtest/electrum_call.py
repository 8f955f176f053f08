#!/usr/bin/env python3
"""Minimal Electrum protocol client (newline-delimited JSON-RPC over TCP).

Usage:
  electrum_call.py HOST PORT METHOD [PARAMS_JSON...]
      Calls METHOD once and prints its result as JSON. Each parameter is a JSON
      literal (a word that is not valid JSON is sent as a string). Exits 1 with
      the server's error message on a JSON-RPC error.
      Example: electrum_call.py 127.0.0.1 50001 blockchain.scripthash.get_balance '"ab12..."'

  electrum_call.py --wait-ready HOST PORT TIMEOUT_S
      Retries server.version until the server answers or TIMEOUT_S passes.

  electrum_call.py --wait-tip HOST PORT HEIGHT BLOCKHASH TIMEOUT_S
      Polls blockchain.headers.subscribe until the server's tip is at HEIGHT and
      (unless BLOCKHASH is "-") its header hashes to BLOCKHASH, or TIMEOUT_S passes.
      Prints the tip as JSON {"height": .., "hash": ..}.

Exit status: 0 success, 1 RPC error, 3 timeout or connection failure, 2 usage.
"""

import hashlib
import json
import os
import socket
import sys
import time

CLIENT_NAME = "btc-anchor-regtest"
PROTOCOL_VERSION = "1.4"


class RpcError(Exception):
    pass


class Client:
    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.next_id = 0

    def close(self):
        try:
            self.file.close()
        finally:
            self.sock.close()

    def call(self, method, params):
        self.next_id += 1
        req_id = self.next_id
        msg = {"jsonrpc": "2.0", "id": req_id, "method": method, "params": params}
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("connection closed by server")
            reply = json.loads(line)
            if reply.get("id") != req_id:
                continue  # a subscription notification
            if reply.get("error") is not None:
                err = reply["error"]
                if isinstance(err, dict):
                    err = "%s (code %s)" % (err.get("message"), err.get("code"))
                raise RpcError(str(err))
            return reply.get("result")

    def handshake(self):
        return self.call("server.version", [CLIENT_NAME, PROTOCOL_VERSION])


def parse_param(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def header_hash(header_hex):
    raw = bytes.fromhex(header_hex)
    return hashlib.sha256(hashlib.sha256(raw).digest()).digest()[::-1].hex()


def wait_ready(host, port, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            c = Client(host, port, timeout=5)
            try:
                print(json.dumps(c.handshake()))
                return 0
            finally:
                c.close()
        except (OSError, ValueError, RpcError) as e:
            last = e
        time.sleep(0.1)
    sys.stderr.write("electrum %s:%s not ready after %ss: %s\n" % (host, port, timeout, last))
    return 3


def wait_tip(host, port, height, blockhash, timeout):
    deadline = time.monotonic() + timeout
    last = None
    client = None
    while time.monotonic() < deadline:
        try:
            if client is None:
                client = Client(host, port, timeout=5)
                client.handshake()
            tip = client.call("blockchain.headers.subscribe", [])
            tip_hash = header_hash(tip["hex"])
            last = {"height": tip["height"], "hash": tip_hash}
            if tip["height"] == height and blockhash in ("-", tip_hash):
                print(json.dumps(last))
                client.close()
                return 0
        except (OSError, ValueError, RpcError) as e:
            last = e
            if client is not None:
                client.close()
            client = None
        time.sleep(0.05)
    if client is not None:
        client.close()
    sys.stderr.write(
        "electrum %s:%s did not reach height %d (hash %s) within %ss; last seen: %s\n"
        % (host, port, height, blockhash, timeout, last)
    )
    return 3


def main(argv):
    try:
        if len(argv) >= 2 and argv[1] == "--wait-ready":
            if len(argv) != 5:
                raise IndexError
            return wait_ready(argv[2], argv[3], float(argv[4]))
        if len(argv) >= 2 and argv[1] == "--wait-tip":
            if len(argv) != 7:
                raise IndexError
            return wait_tip(argv[2], argv[3], int(argv[4]), argv[5], float(argv[6]))
        host, port, method = argv[1], argv[2], argv[3]
    except (IndexError, ValueError):
        sys.stderr.write(__doc__)
        return 2
    params = [parse_param(p) for p in argv[4:]]
    try:
        client = Client(host, port)
        try:
            if method != "server.version":
                client.handshake()
            result = client.call(method, params)
        finally:
            client.close()
    except RpcError as e:
        sys.stderr.write("electrum error: %s\n" % e)
        return 1
    except (OSError, ValueError) as e:
        sys.stderr.write("electrum %s:%s: %s\n" % (host, port, e))
        return 3
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BrokenPipeError:  # reader went away (e.g. `| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
