"""`python -m pages`: write every generated file from the declared tables and committed data.

python -m pages            # rewrite them all (no server is started)
python -m pages --check    # exit 1, naming them, when a committed file is stale
"""

from __future__ import annotations

import argparse
import sys
import time

from pages import expected, stale, write
from shared.servers import REPO


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pages", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.check:
        found = stale()
        for path in found:
            print(f"stale: {path.relative_to(REPO)}")
        print(f"{len(expected())} generated files, {len(found)} stale ({time.monotonic() - started:.1f} s)")
        return 1 if found else 0
    changed = write()
    for path in changed:
        print(f"wrote {path.relative_to(REPO)}")
    print(f"{len(expected())} generated files, {len(changed)} rewritten ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
