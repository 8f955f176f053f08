#!/usr/bin/env python3
"""A fault-injecting proxy in front of a real Electrum server, for tests.

Usage: proxy.py UPSTREAM_PORT MODE_FILE

Listens on a free loopback port (printed as the first line of stdout,
`PORT=n`) and relays newline-delimited JSON-RPC between each client and
127.0.0.1:UPSTREAM_PORT. Before relaying each message it reads MODE_FILE
(a missing file means `pass`):

  pass        relay everything unchanged
  drop        swallow client requests (the server never sees them; the
              client waits for replies that never come)
  lie-merkle  relay, but change one byte of the first hash of every
              blockchain.transaction.get_merkle answer
  lie-header  relay, but change the merkle root in every
              blockchain.block.header answer

Standard library only. Stops when its parent test process closes stdin.
"""
import asyncio
import json
import os
import sys


def mode(path):
    try:
        with open(path) as f:
            return f.read().strip() or "pass"
    except OSError:
        return "pass"


def flip_hex(s, pos):
    c = s[pos]
    return s[:pos] + ("1" if c == "0" else "0") + s[pos + 1:]


def tamper(line, m):
    try:
        msg = json.loads(line)
    except ValueError:
        return line
    res = msg.get("result") if isinstance(msg, dict) else None
    if m == "lie-merkle" and isinstance(res, dict) and res.get("merkle"):
        res["merkle"][0] = flip_hex(res["merkle"][0], 10)
    elif m == "lie-header" and isinstance(res, str) and len(res) == 160:
        # bytes 36..68 of the header are the merkle root
        msg["result"] = flip_hex(res, 80)
    else:
        return line
    return (json.dumps(msg) + "\n").encode()


async def pipe(reader, writer, path, to_server):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            m = mode(path)
            if to_server:
                if m == "drop":
                    continue
            else:
                line = tamper(line, m)
            writer.write(line)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    upstream = int(sys.argv[1])
    path = sys.argv[2]

    async def handle(cr, cw):
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, sw, path, True), pipe(sr, cw, path, False))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT={port}", flush=True)
    loop = asyncio.get_running_loop()
    # Exit when the parent closes our stdin (the test ended or died).
    stdin_closed = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: stdin_closed.done() or (
        os.read(sys.stdin.fileno(), 1024) == b"" and stdin_closed.set_result(None)))
    async with server:
        await stdin_closed


if __name__ == "__main__":
    asyncio.run(main())
