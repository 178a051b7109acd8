"""What every benchmark shares: the --quick flag and one way to print figures and goals."""

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parser(description: str | None) -> argparse.ArgumentParser:
    """The arguments every benchmark takes (a benchmark may add its own)."""
    made = argparse.ArgumentParser(description=description)
    made.add_argument(
        "--quick", action="store_true", help="run for a few seconds: a smoke test, not a figure"
    )
    return made


def parse_args(description: str | None, argv: list[str] | None = None) -> argparse.Namespace:
    return parser(description).parse_args(argv)


def title(name: str, what: str, quick: bool) -> None:
    print(f"\n== {name}: {what}{' (quick: smoke test only)' if quick else ''}", flush=True)


def figure(label: str, value: float, unit: str) -> None:
    print(f"  {label:<40} {value:>12,.1f} {unit}", flush=True)


def ratio(label: str, value: float) -> None:
    print(f"  {label:<40} {value:>12.1%}", flush=True)


def note(text: str) -> None:
    print(f"  {text}", flush=True)


def goal(text: str, met: bool) -> None:
    """Print only: a missed goal is a figure to read, never a failure."""
    print(f"  goal: {text}: {'met' if met else 'NOT met'}", flush=True)
