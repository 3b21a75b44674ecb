"""``python -m cnnbook``: the classroom data kit on the command line.

    python -m cnnbook data fetch DIR    download, check and lay out what the labs read
    python -m cnnbook data check DIR    report present / missing / damaged; change nothing

Then set ``CNNBOOK_DATA=DIR``. See ``cnnbook.datakit``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="topic", required=True)
    data_parser = commands.add_parser("data", help="the classroom data kit")
    actions = data_parser.add_subparsers(dest="action", required=True)
    fetch_parser = actions.add_parser("fetch", help="download, check and lay out into DIR")
    fetch_parser.add_argument("dir", type=Path)
    fetch_parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    check_parser = actions.add_parser("check", help="report what DIR holds; changes nothing")
    check_parser.add_argument("dir", type=Path)
    args = parser.parse_args(argv)

    from cnnbook import data, datakit

    if args.action == "check":
        if not args.dir.is_dir():
            print(f"{args.dir} is not a folder: nothing to check.", file=sys.stderr)
            return 2
        statuses = datakit.check(args.dir)
    else:
        try:
            statuses = datakit.fetch(args.dir, progress=not args.no_progress)
        except (OSError, data.DataIntegrityError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(datakit.report(statuses))
    complete = all(s.state == "present" for s in statuses)
    if complete:
        print(f"\nComplete. On each machine: export CNNBOOK_DATA={args.dir.resolve()}")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
