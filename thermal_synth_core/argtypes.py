"""argparse value types shared by every command line of the package (core, ROS 2 plug-ins, benchmarks).

They sit below every package that parses arguments, so a benchmark or a ROS 2
tool can use them without importing the CLI.
"""

from __future__ import annotations

import argparse
import re

__all__ = ["non_negative_int", "parse_size", "positive_float", "positive_int"]


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``WxH`` (e.g. ``640x512``) into ``(width, height)``."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size of the form WIDTHxHEIGHT, e.g. 640x512")
    width, height = int(match.group(1)), int(match.group(2))
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"size {text!r} must be positive in both dimensions")
    return width, height


def _int_at_least(text: str, minimum: int, bound: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{value} must be {bound}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return _int_at_least(text, 1, "at least 1")


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return _int_at_least(text, 0, "0 or more")


def positive_float(text: str) -> float:
    """An argparse type: a float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} must be greater than 0")
    return value
