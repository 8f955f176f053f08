#!/usr/bin/env python3
"""Checks a .ots file with the OpenTimestamps reference library.

Usage: ots_check.py FILE.ots DOCUMENT HEIGHT MERKLE_ROOT_HEX

Parses FILE.ots with `opentimestamps`, checks its file digest is the
SHA-256 of DOCUMENT, and that it holds exactly one Bitcoin block-header
attestation, at HEIGHT, whose message equals MERKLE_ROOT_HEX (the header's
merkle root in internal byte order). Prints `ots_check: ok`.
"""
import hashlib
import sys

from opentimestamps.core.notary import BitcoinBlockHeaderAttestation
from opentimestamps.core.op import OpSHA256
from opentimestamps.core.serialize import StreamDeserializationContext
from opentimestamps.core.timestamp import DetachedTimestampFile


def main():
    path, document, height, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(path, "rb") as f:
        dtf = DetachedTimestampFile.deserialize(StreamDeserializationContext(f))
        if f.read(1):
            sys.exit("trailing bytes after the timestamp")
    if not isinstance(dtf.file_hash_op, OpSHA256):
        sys.exit(f"file hash is {dtf.file_hash_op}, expected sha256")
    with open(document, "rb") as f:
        digest = hashlib.sha256(f.read()).digest()
    if dtf.file_digest != digest:
        sys.exit("file digest differs from the document's SHA-256")
    found = [(msg, att) for msg, att in dtf.timestamp.all_attestations()
             if isinstance(att, BitcoinBlockHeaderAttestation)]
    if len(found) != 1:
        sys.exit(f"expected one Bitcoin attestation, found {len(found)}")
    msg, att = found[0]
    if att.height != height:
        sys.exit(f"attestation at height {att.height}, expected {height}")
    if msg.hex() != root:
        sys.exit(f"message {msg.hex()} is not the merkle root {root}")
    print("ots_check: ok")


if __name__ == "__main__":
    main()
