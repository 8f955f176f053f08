#!/usr/bin/env python3
"""Regtest address helper (standard library only).

Usage:
  addr.py rb ADDRESS          print ADDRESS in bcoin's regtest form (bech32 HRP "rb")
  addr.py bcrt ADDRESS        print ADDRESS in Bitcoin Core's regtest form (HRP "bcrt")
  addr.py script ADDRESS      print the scriptPubKey (hex) paid by ADDRESS
  addr.py scripthash ADDRESS  print the Electrum scripthash of ADDRESS
                              (sha256 of the scriptPubKey, byte-reversed, hex)
  addr.py random              print a fresh random P2WPKH regtest address (rb form)

bcoin names the regtest bech32 prefix "rb" while Bitcoin Core, BDK and rust-bitcoin
use "bcrt". Both encode the same witness program, so converting only re-encodes
the checksum. Base58 (legacy P2PKH/P2SH) addresses are the same in both and are
passed through unchanged by "rb" and "bcrt".
"""

import hashlib
import os
import sys

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_CONST = 1
BECH32M_CONST = 0x2BC830A3
B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# Regtest shares the testnet version bytes.
B58_P2PKH = 0x6F
B58_P2SH = 0xC4


class AddrError(Exception):
    pass


def _polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def _hrp_expand(hrp):
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def bech32_decode(addr):
    if addr.lower() != addr and addr.upper() != addr:
        raise AddrError("mixed case bech32 address")
    addr = addr.lower()
    pos = addr.rfind("1")
    if pos < 1 or pos + 7 > len(addr) or len(addr) > 90:
        raise AddrError("not a bech32 address")
    hrp = addr[:pos]
    try:
        data = [CHARSET.index(c) for c in addr[pos + 1:]]
    except ValueError:
        raise AddrError("invalid bech32 character") from None
    const = _polymod(_hrp_expand(hrp) + data)
    if const == BECH32_CONST:
        variant = "bech32"
    elif const == BECH32M_CONST:
        variant = "bech32m"
    else:
        raise AddrError("bad bech32 checksum")
    return hrp, data[:-6], variant


def bech32_encode(hrp, data, variant):
    const = BECH32M_CONST if variant == "bech32m" else BECH32_CONST
    values = _hrp_expand(hrp) + data
    polymod = _polymod(values + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data + checksum)


def convertbits(data, frombits, tobits, pad):
    acc = 0
    bits = 0
    ret = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise AddrError("invalid data value")
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if pad:
        if bits:
            ret.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise AddrError("invalid padding")
    return ret


def decode_segwit(addr):
    hrp, data, variant = bech32_decode(addr)
    if not data:
        raise AddrError("empty witness data")
    version = data[0]
    program = bytes(convertbits(data[1:], 5, 8, False))
    if version > 16 or not 2 <= len(program) <= 40:
        raise AddrError("invalid witness program")
    if version == 0 and len(program) not in (20, 32):
        raise AddrError("invalid v0 witness program length")
    want = "bech32" if version == 0 else "bech32m"
    if variant != want:
        raise AddrError("wrong checksum variant for witness version %d" % version)
    return hrp, version, program


def encode_segwit(hrp, version, program):
    variant = "bech32" if version == 0 else "bech32m"
    return bech32_encode(hrp, [version] + convertbits(program, 8, 5, True), variant)


def b58decode_check(addr):
    num = 0
    for c in addr:
        if c not in B58_ALPHABET:
            raise AddrError("not a base58 address")
        num = num * 58 + B58_ALPHABET.index(c)
    raw = num.to_bytes((num.bit_length() + 7) // 8, "big")
    pad = len(addr) - len(addr.lstrip("1"))
    raw = b"\x00" * pad + raw
    if len(raw) < 5:
        raise AddrError("base58 address too short")
    payload, checksum = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        raise AddrError("bad base58 checksum")
    return payload


def is_bech32(addr):
    return "1" in addr and addr.lower().split("1")[0] in ("rb", "bcrt", "tb", "bc")


def with_hrp(addr, hrp):
    if not is_bech32(addr):
        b58decode_check(addr)  # validate only
        return addr
    _, version, program = decode_segwit(addr)
    return encode_segwit(hrp, version, program)


def script_of(addr):
    if is_bech32(addr):
        _, version, program = decode_segwit(addr)
        op = 0 if version == 0 else 0x50 + version
        return bytes([op, len(program)]) + program
    payload = b58decode_check(addr)
    if len(payload) != 21:
        raise AddrError("unexpected base58 payload length")
    ver, h = payload[0], payload[1:]
    if ver == B58_P2PKH:
        return b"\x76\xa9\x14" + h + b"\x88\xac"
    if ver == B58_P2SH:
        return b"\xa9\x14" + h + b"\x87"
    raise AddrError("not a regtest/testnet base58 address (version %#x)" % ver)


def scripthash_of(addr):
    return hashlib.sha256(script_of(addr)).digest()[::-1].hex()


def main(argv):
    if len(argv) == 2 and argv[1] == "random":
        print(encode_segwit("rb", 0, os.urandom(20)))
        return 0
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    cmd, addr = argv[1], argv[2].strip()
    try:
        if cmd == "rb":
            print(with_hrp(addr, "rb"))
        elif cmd == "bcrt":
            print(with_hrp(addr, "bcrt"))
        elif cmd == "script":
            print(script_of(addr).hex())
        elif cmd == "scripthash":
            print(scripthash_of(addr))
        else:
            sys.stderr.write(__doc__)
            return 2
    except AddrError as e:
        sys.stderr.write("addr.py: %s: %s\n" % (addr, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
