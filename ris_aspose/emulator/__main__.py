"""``python -m ris_aspose.emulator``: serve the imageSearch emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ris_aspose.emulator.server import Emulator


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m ris_aspose.emulator",
        description="Serve an offline emulator of Aspose.Imaging Cloud's imageSearch API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default 8080)")
    parser.add_argument(
        "--busy-polls",
        type=int,
        default=0,
        metavar="N",
        help="answer ExtractingFeatures to N status polls after each write (default 0)",
    )
    parser.add_argument("--no-auth", action="store_true", help="accept API calls without a token (on-premise mode)")
    args = parser.parse_args(argv)
    emulator = Emulator(args.host, args.port, busy_polls=args.busy_polls, require_auth=not args.no_auth)
    print(f"aspose imageSearch emulator listening on {emulator.url} (Ctrl-C to stop)", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
