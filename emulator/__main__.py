"""Run the emulator: ``python -m emulator [--host H] [--port P] [--demo] [--pace S]``."""
from __future__ import annotations

import argparse
import logging

from emulator.state import STATE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    # Loopback by default: the emulator accepts any credentials, so it must not face a network.
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566, help="port to listen on (default 4566)")
    parser.add_argument("--demo", action="store_true", help="seed the demo accounts at start")
    parser.add_argument("--pace", type=float, default=0.0,
                        help="seconds one stack event / pipeline action takes (default 0)")
    args = parser.parse_args(argv)
    if args.pace < 0:
        parser.error("--pace must not be negative")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from emulator.install import install
    from emulator.server import EmulatorServer

    install()
    STATE.pace = args.pace
    if args.demo:
        from emulator import demo

        demo.seed()
    server = EmulatorServer(args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
