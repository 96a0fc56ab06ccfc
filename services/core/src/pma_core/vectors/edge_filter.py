"""The port's `VectorFilter` in the embedded engine's terms: every condition ANDed, the tenant first."""

from __future__ import annotations

from typing import cast

import numpy as np
import qdrant_edge as qe

from pma_core.vectors.port import CREATED_AT, KIND, USER_ID, VectorFilter


def edge_filter(flt: VectorFilter) -> qe.Filter:
    """The engine's filter for one tenant's kinds, creation window and exact payload matches."""
    must: list[qe.ConditionType] = [qe.FieldCondition(USER_ID, match=qe.MatchValue(flt.user_id))]
    if flt.kinds is not None:
        must.append(qe.FieldCondition(KIND, match=qe.MatchAny(list(flt.kinds))))
    low, high = flt.created_bounds()
    if low or high:
        must.append(qe.FieldCondition(CREATED_AT, range=qe.RangeDateTime(gte=low, lt=high)))
    for key, value in (flt.match or {}).items():
        must.append(qe.FieldCondition(key, match=qe.MatchValue(_match_value(value))))
    return qe.Filter(must=must)


def _match_value(value: str | int | bool) -> str | int | bool:
    # qdrant-edge 0.9.0 reads a Python bool as the integer 1/0 (so `True` never matches a boolean
    # field, and matches `1`); numpy's bool is read as a boolean.
    if isinstance(value, bool):
        return cast(bool, np.bool_(value))
    return value
