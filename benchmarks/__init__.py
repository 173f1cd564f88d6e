"""Speed and accuracy benchmarks, each runnable as ``python -m benchmarks.NAME``."""

from pathlib import Path

#: The repository: where results/ and the scripts are.
ROOT = Path(__file__).resolve().parents[1]
