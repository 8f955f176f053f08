#!/usr/bin/env python3
"""Save and restore transactions around a bcoin invalidateblock (used by reorg.sh).

bcoin's invalidateblock rewinds the chain with a reset: the transactions of the
disconnected blocks are NOT returned to the mempool, and the whole mempool is
cleared. reorg.sh saves them first and resubmits them afterwards.

Usage (node taken from BCOIN_RPC_URL / BCOIN_API_KEY):
  reorg_txs.py save FILE BLOCKHASH...
      Writes to FILE (JSON) the non-coinbase transactions of the given blocks, in
      order, and those of the current mempool.
  reorg_txs.py restore FILE blocks|mempool|all
      Resubmits the saved block transactions ("blocks"), the saved mempool
      transactions ("mempool"), or both, block ones first ("all"). Prints the
      txids now in the mempool and those that could not be restored.
"""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bcoin_rpc  # noqa: E402

URL = os.environ.get("BCOIN_RPC_URL", "")
KEY = os.environ.get("BCOIN_API_KEY", "")


def rpc(method, *params):
    return bcoin_rpc.call(URL, KEY, method, list(params))


def save(path, blockhashes):
    block_txs = []
    for h in blockhashes:
        block = rpc("getblock", h, True)
        for txid in block["tx"][1:]:  # skip the coinbase
            block_txs.append({"txid": txid, "hex": rpc("getrawtransaction", txid, 0)})
    mempool_txs = []
    for txid in rpc("getrawmempool"):
        try:
            mempool_txs.append({"txid": txid, "hex": rpc("getrawtransaction", txid, 0)})
        except bcoin_rpc.RpcError:
            pass  # mined or evicted meanwhile
    with open(path, "w") as f:
        json.dump({"blocks": block_txs, "mempool": mempool_txs}, f)


def restore(path, which):
    with open(path) as f:
        saved = json.load(f)
    txs = []
    if which in ("blocks", "all"):
        txs += saved["blocks"]
    if which in ("mempool", "all"):
        txs += saved["mempool"]
    # Two passes: a transaction whose parent comes later is accepted on the second.
    for _ in range(2):
        in_pool = set(rpc("getrawmempool"))
        for tx in txs:
            if tx["txid"] not in in_pool:
                try:
                    rpc("sendrawtransaction", tx["hex"])
                except bcoin_rpc.RpcError:
                    pass
    in_pool = set(rpc("getrawmempool"))
    restored = [t["txid"] for t in txs if t["txid"] in in_pool]
    lost = [t["txid"] for t in txs if t["txid"] not in in_pool]
    print("RESTORED=%s" % " ".join(restored))
    print("NOT_RESTORED=%s" % " ".join(lost))


def main(argv):
    if len(argv) >= 3 and argv[1] == "save":
        save(argv[2], argv[3:])
        return 0
    if len(argv) == 4 and argv[1] == "restore" and argv[3] in ("blocks", "mempool", "all"):
        restore(argv[2], argv[3])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
