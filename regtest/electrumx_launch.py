#!/usr/bin/env python3
"""Launch ElectrumX (e-x 1.18) without its reply-padding delay.

Usage (with the venv's python, configuration in the environment as ElectrumX expects):
  python electrumx_launch.py [STACK_DIR]

STACK_DIR is not used by ElectrumX; it only appears on the command line to tell
the stacks' processes apart (btc-anchor-testenv's TestEnv passes its folder).

ElectrumX 1.18 holds every reply shorter than 1024 bytes for up to one second
(PaddedRSTransport.WAIT_FOR_BUFFER_GROWTH_SECONDS, a traffic-analysis
countermeasure). On loopback that turns each Electrum call into ~1 s, so it is
switched off here before the server starts.
"""

import sys

import electrumx.server.transport as transport
from electrumx.cli import electrumx_server

transport.PaddedRSTransport.WAIT_FOR_BUFFER_GROWTH_SECONDS = 0

if __name__ == "__main__":
    sys.argv = sys.argv[:1]
    sys.exit(electrumx_server.main())
