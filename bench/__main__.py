"""``python -m bench <subcommand> [--db sqlite|postgres] [--scale small|full]`` (README.md)."""

from __future__ import annotations

import argparse
import sys

from bench import common

SUBCOMMANDS = ("all", "data", "pages", "filing", "reports", "pdf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("subcommand", nargs="?", default="all", choices=SUBCOMMANDS)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--scale", choices=tuple(common.SCALES), default="small")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load run")
    parser.add_argument("--filings", type=int, default=400, help="submissions to time")
    parser.add_argument(
        "--regenerate", action="store_true", help="generate the data set again even if present"
    )
    args = parser.parse_args(argv)
    target = common.target_for(args.db, args.scale)
    print(f"bench {args.subcommand} on {target.db} ({target.scale} scale)")
    common.ensure_data(target, regenerate=args.regenerate)
    common.check_idle()
    if args.subcommand == "data":
        return 0
    if args.subcommand in ("all", "pages"):
        from bench import pages

        pages.run(target, seconds=args.seconds)
    if args.subcommand in ("all", "filing"):
        from bench import filing

        filing.run(target, filings=args.filings)
    if args.subcommand in ("all", "reports"):
        from bench import reports

        reports.run(target)
    if args.subcommand in ("all", "pdf"):
        from bench import pdf

        pdf.run(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
