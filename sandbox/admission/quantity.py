"""Resource quantities as admission and controllers add and compare them.

A :class:`Amount` is an exact value with the format the API server keeps for it
(binary ``Ki``/``Mi``/``Gi`` or decimal ``m``/``k``/``M``), printed the way
``resource.Quantity.String()`` prints its canonical form: ``1Gi``, ``500m``, ``2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..validation_quantity import format_quantity, parse_quantity

_BINARY = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_DECIMAL = ("k", "M", "G", "T", "P", "E")


@dataclass(frozen=True)
class Amount:
    value: Fraction = Fraction(0)
    binary: bool = False

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.value + other.value, self.binary or other.binary)

    def __sub__(self, other: Amount) -> Amount:
        return Amount(self.value - other.value, self.binary or other.binary)

    def __str__(self) -> str:
        return format_quantity(self.value, self.binary)


ZERO = Amount()


def amount(value: Any) -> Amount:
    """A quantity string (or number) as an :class:`Amount`; unparsable values count as zero."""
    text = str(value)
    parsed = parse_quantity(text)
    return Amount(parsed if parsed is not None else Fraction(0), text.endswith(_BINARY))


def count(n: int) -> Amount:
    return Amount(Fraction(n))


def resource_list(values: Any) -> dict[str, Amount]:
    """A ``ResourceList`` (name -> quantity string) as amounts."""
    if not isinstance(values, dict):
        return {}
    return {str(k): amount(v) for k, v in values.items()}


def container_resources(container: Any) -> tuple[dict[str, Amount], dict[str, Amount]]:
    """A container's requests and limits; a request left out defaults to its limit, as
    the API's defaulting of a pod does."""
    resources = (container or {}).get("resources") or {}
    limits = resource_list(resources.get("limits"))
    requests = resource_list(resources.get("requests"))
    for name, value in limits.items():
        requests.setdefault(name, value)
    return requests, limits


def pod_totals(spec: Any) -> tuple[dict[str, Amount], dict[str, Amount]]:
    """A pod's effective requests and limits: the sum over its containers, or the largest
    init container when that is more (``PodRequests``/``PodLimits``)."""
    spec = spec or {}
    totals: list[dict[str, Amount]] = [{}, {}]
    for container in spec.get("containers") or []:
        for total, values in zip(totals, container_resources(container), strict=True):
            for name, value in values.items():
                total[name] = total.get(name, ZERO) + value
    for container in spec.get("initContainers") or []:
        for total, values in zip(totals, container_resources(container), strict=True):
            for name, value in values.items():
                if value.value > total.get(name, ZERO).value:
                    total[name] = value
    return totals[0], totals[1]


def pretty(values: dict[str, Amount]) -> str:
    """``a=1,b=2Gi`` sorted by name, as the quota admission prints resource lists."""
    return ",".join(f"{k}={values[k]}" for k in sorted(values))
