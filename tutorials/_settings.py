"""Command-line settings shared by the tutorials: tiny budgets or not, and where to write."""

import argparse
import os
import tempfile
from pathlib import Path


def tutorial_settings(description: str) -> tuple[bool, Path]:
    """Whether to use the tiny budgets (``--quick`` or AUTONAS_TUTORIAL_QUICK=1), and the folder to write into."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny budgets (also: AUTONAS_TUTORIAL_QUICK=1)")
    parser.add_argument("--output-dir", default=os.environ.get("AUTONAS_TUTORIAL_DIR"), help="where to write")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("AUTONAS_TUTORIAL_QUICK", "0") not in ("", "0")
    output = Path(args.output_dir) if args.output_dir else Path(tempfile.mkdtemp(prefix="autonas-tutorial-"))
    output.mkdir(parents=True, exist_ok=True)
    return quick, output
