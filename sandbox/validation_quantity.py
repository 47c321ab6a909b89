"""``resource.Quantity``: the syntax the decoder accepts, exact values, canonical form.

The decoder (``sandbox.validation_schema``) refuses strings that do not match
:data:`QUANTITY_RE` and writes JSON numbers back as the server does
(:func:`canonical_quantity`); the rules compare quantities by their exact
value (:func:`parse_quantity`), e.g. requests against limits.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Final

QUANTITY_RE: Final = re.compile(r"([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)")
QUANTITY_ERROR: Final = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)

_SUFFIXES: Final[dict[str, Fraction]] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_QUANTITY_PARTS_RE: Final = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))([a-zA-Z]*|[eE][+-]?\d+)")
_DECIMAL_SUFFIXES: Final = ("k", "M", "G", "T", "P", "E")
_BINARY_SUFFIXES: Final = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def parse_quantity(value: Any) -> Fraction | None:
    """A quantity's exact value, or ``None`` if it cannot be parsed."""
    m = _QUANTITY_PARTS_RE.fullmatch(str(value))
    if not m:
        return None
    number, suffix = m.groups()
    if suffix[:1] in ("e", "E") and suffix[1:].lstrip("+-").isdigit():
        return Fraction(number) * Fraction(10) ** int(suffix[1:])
    scale = _SUFFIXES.get(suffix)
    return None if scale is None else Fraction(number) * scale


def format_quantity(value: Fraction, binary: bool = False) -> str:
    """The canonical string of a quantity (``resource.Quantity.String()``): whole numbers
    with the largest suffix that divides them (binary ones when ``binary``), fractions in
    m, u or n."""
    if value == 0:
        return "0"
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value.denominator == 1:
        mantissa, suffix = value.numerator, ""
        base, names = (1024, _BINARY_SUFFIXES) if binary and value >= 1024 else (1000, _DECIMAL_SUFFIXES)
        for name in names:
            if mantissa % base:
                break
            mantissa, suffix = mantissa // base, name
        return f"{sign}{mantissa}{suffix}"
    for exponent, name in ((3, "m"), (6, "u"), (9, "n")):
        scaled = value * 10**exponent
        if scaled.denominator == 1 or name == "n":
            return f"{sign}{math.ceil(scaled)}{name}"
    raise AssertionError("unreachable")


def canonical_string(text: str) -> str:
    """A quantity string as the server stores it: ``1000m`` -> ``1``, ``1.5Gi`` -> ``1536Mi``,
    ``0.5`` -> ``500m``; exponent forms (``1e3``) are kept as written."""
    value = parse_quantity(text)
    if value is None or "e" in text.lower().lstrip("+-0123456789."):
        return text
    return format_quantity(value, binary=text.endswith(_BINARY_SUFFIXES))


def canonical_quantity(number: int | float) -> str:
    """A JSON number as the server writes the ``resource.Quantity`` back: 0.5 -> ``500m``, 2000 -> ``2k``."""
    return format_quantity(Fraction(repr(number)) if isinstance(number, float) else Fraction(number))
