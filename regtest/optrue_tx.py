#!/usr/bin/env python3
"""Keyless test transactions for regtest (standard library only).

Coins paid to the P2WSH address of the witness script OP_TRUE can be spent by
anyone without a signature (witness: just the script). smoke.sh uses this to
push a real transaction with an OP_RETURN output through ElectrumX and bcoin
without a wallet. Regtest only: never send real value to such an address.

Usage:
  optrue_tx.py address
      Prints the P2WSH(OP_TRUE) address in Bitcoin Core/BDK form (bcrt1...).
  optrue_tx.py spend TXID VOUT VALUE_SAT FEE_SAT DATA_HEX [--bad-witness]
      Builds a transaction spending TXID:VOUT (worth VALUE_SAT, locked to the
      address above) that pays VALUE_SAT - FEE_SAT back to the same address and
      adds an OP_RETURN output carrying DATA_HEX (at most 80 bytes).
      With --bad-witness the witness is wrong, so nodes must reject it.
      Prints "TXID RAW_HEX".
"""

import hashlib
import os
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import addr  # noqa: E402

OP_TRUE = b"\x51"
OP_RETURN = 0x6A


def witness_program():
    return hashlib.sha256(OP_TRUE).digest()


def p2wsh_script():
    return b"\x00\x20" + witness_program()


def varint(n):
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    return b"\xfe" + struct.pack("<I", n)


def push(data):
    if len(data) < 0x4C:
        return bytes([len(data)]) + data
    return b"\x4c" + bytes([len(data)]) + data


def dsha256(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def spend(txid, vout, value, fee, data, bad_witness):
    if len(data) > 80:
        raise ValueError("OP_RETURN data longer than 80 bytes")
    if fee <= 0 or fee >= value:
        raise ValueError("fee must be positive and below the input value")
    version = struct.pack("<i", 2)
    txin = bytes.fromhex(txid)[::-1] + struct.pack("<I", vout) + b"\x00" + b"\xfd\xff\xff\xff"
    op_return = bytes([OP_RETURN]) + push(data)
    outs = [(value - fee, p2wsh_script()), (0, op_return)]
    txouts = varint(len(outs)) + b"".join(
        struct.pack("<q", v) + varint(len(s)) + s for v, s in outs
    )
    locktime = struct.pack("<I", 0)
    base = version + varint(1) + txin + txouts + locktime
    wscript = b"\x00" if bad_witness else OP_TRUE
    witness = varint(1) + varint(len(wscript)) + wscript
    full = version + b"\x00\x01" + varint(1) + txin + txouts + witness + locktime
    return dsha256(base)[::-1].hex(), full.hex()


def main(argv):
    if len(argv) == 2 and argv[1] == "address":
        print(addr.encode_segwit("bcrt", 0, witness_program()))
        return 0
    if len(argv) in (7, 8) and argv[1] == "spend" and (len(argv) == 7 or argv[7] == "--bad-witness"):
        txid, raw = spend(
            argv[2], int(argv[3]), int(argv[4]), int(argv[5]), bytes.fromhex(argv[6]), len(argv) == 8
        )
        print(txid, raw)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
