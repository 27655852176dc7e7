"""``python -m ris_aspose.emulator``: serve the imageSearch emulator until Ctrl-C.

As a self-hosted, persistent imageSearch server (any Aspose SDK reaches it by changing
its ``base_url``)::

    RIS_EMULATOR_CLIENT_ID=me RIS_EMULATOR_CLIENT_SECRET=... \\
        python -m ris_aspose.emulator --database imagesearch.db --port 8080

The secret is read from the environment only, never from the command line (where
every user of the machine could read it). Without credentials the emulator accepts
any client id and secret, and so listens on loopback only.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ris_aspose.emulator.server import Emulator

ID_VARIABLE = "RIS_EMULATOR_CLIENT_ID"
SECRET_VARIABLE = "RIS_EMULATOR_CLIENT_SECRET"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m ris_aspose.emulator",
        description="Serve an offline emulator of Aspose.Imaging Cloud's imageSearch API.",
        epilog=f"Credentials: set ${ID_VARIABLE} and ${SECRET_VARIABLE} (required off loopback).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default 8080)")
    parser.add_argument(
        "--database",
        default=":memory:",
        metavar="FILE",
        help="SQLite file keeping contexts and storage (default: memory)",
    )
    parser.add_argument(
        "--busy-polls",
        type=int,
        default=0,
        metavar="N",
        help="answer ExtractingFeatures to N status polls after each write (default 0)",
    )
    parser.add_argument(
        "--no-auth", action="store_true", help="accept API calls without a token (on-premise mode; loopback only)"
    )
    args = parser.parse_args(argv)
    client_id, secret = os.environ.get(ID_VARIABLE, ""), os.environ.get(SECRET_VARIABLE, "")
    if bool(client_id) != bool(secret):
        parser.error(f"set both ${ID_VARIABLE} and ${SECRET_VARIABLE}, or neither")
    try:
        emulator = Emulator(
            args.host,
            args.port,
            busy_polls=args.busy_polls,
            require_auth=not args.no_auth,
            credentials=(client_id, secret) if client_id else None,
            database=args.database,
        )
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    where = "in memory" if args.database == ":memory:" else f"in {args.database}"
    print(f"aspose imageSearch emulator listening on {emulator.url} (data {where}; Ctrl-C to stop)", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
