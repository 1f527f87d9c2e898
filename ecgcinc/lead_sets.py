"""Lead sets: which of the twelve standard leads a record has, and what a model sees of them.

The 2021 Challenge scores every entry on five lead sets (records.LEAD_SETS).  A
record of a reduced set is a header and a recording with only those leads; in
this package its leads sit in their standard slots with a presence mask.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .records import TWELVE_LEADS, Record, lead_slot


def lead_mask(leads: Sequence[str] | None) -> np.ndarray:
    """(12,) bool: the standard slots of a lead set (all twelve for None)."""
    slots = [lead_slot(lead) for lead in leads] if leads else list(range(12))
    allowed = np.zeros(12, dtype=bool)
    allowed[[s for s in slots if s is not None]] = True
    return allowed


def restricted(record: Record, allowed: np.ndarray) -> Record:
    """The record with the leads outside `allowed` absent (zeros, masked), as training saw
    records of a reduced lead set."""
    mask = record.mask & allowed
    return Record(record.header, np.where(mask[:, None], record.signal, 0.0), mask, record.defects)


def sort_leads(leads: Sequence[str]) -> tuple[str, ...]:
    """Standard leads in 12-lead order, then the others in their given order (the harness's key)."""
    order = {lead: i for i, lead in enumerate(TWELVE_LEADS)}
    return tuple(sorted(leads, key=lambda lead: order.get(lead, len(order) + list(leads).index(lead))))
