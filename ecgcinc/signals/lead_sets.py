"""Lead sets: which of the twelve standard leads a record has, and what a model sees of them.

The 2021 Challenge scores every entry on five lead sets (records.LEAD_SETS).  A
record of a reduced set is a header and a recording with only those leads; in
this package its leads sit in their standard slots with a presence mask.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from ..io.records import LEAD_SETS, TWELVE_LEADS, Record, lead_slot


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


LIMB = slice(0, 6)  # I, II, III, aVR, aVL, aVF


def limb_leads(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(6, n) I, II, III, aVR, aVL, aVF from leads I and II: Einthoven (III = II - I) and
    Goldberger (aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2)."""
    return np.stack([first, second, second - first, -(first + second) / 2, first - second / 2, second - first / 2])


def with_limb_leads(record: Record) -> Record:
    """The record with its missing limb leads computed from two of I, II and III (the frontal
    plane has two degrees of freedom, so any two give all six); recorded leads are kept as
    recorded.  A record with fewer than two of I, II, III is returned unchanged.

    Why: a 2-lead record (I, II) carries what a 6-lead one does, and III, aVR, aVL and aVF of
    the Challenge's sources are themselves computed from I and II by the recording devices;
    a model that sees them absent must learn the same thing twice from less."""
    present = record.mask
    if present[LIMB].all():
        return record
    s = record.signal.astype(np.float64)
    if present[0] and present[1]:
        first, second = s[0], s[1]
    elif present[0] and present[2]:
        first, second = s[0], s[0] + s[2]
    elif present[1] and present[2]:
        first, second = s[1] - s[2], s[1]
    else:
        return record
    signal = record.signal.copy()
    signal[LIMB] = np.where(present[LIMB, None], record.signal[LIMB], limb_leads(first, second))
    mask = present.copy()
    mask[LIMB] = True
    return Record(record.header, signal.astype(record.signal.dtype), mask, record.defects)


def as_seen(record: Record, allowed: np.ndarray, derive: bool) -> Record:
    """The record as a model of lead set `allowed` sees it: restricted to those leads, then its
    missing limb leads derived when `derive` is on.  Training's views (cache.py), the network's
    predictor and the feature baseline all make their records so."""
    record = restricted(record, allowed)
    return with_limb_leads(record) if derive else record


def effective_mask(allowed: np.ndarray, derive: bool) -> np.ndarray:
    """The leads a record restricted to `allowed` ends with: its own, plus the limb leads when
    two of I, II, III are among them and `derive` is on."""
    mask = np.asarray(allowed, dtype=bool).copy()
    if derive and mask[:3].sum() >= 2:
        mask[LIMB] = True
    return mask


def views(derive: bool) -> np.ndarray:
    """(V, 12) bool: the distinct lead sets that records of the Challenge's five sets yield,
    12 leads first.  With derived limb leads there are three (12; the six limb leads, from 6
    or 2 leads; the limb leads and V2, from 4 or 3 leads); without, the five sets themselves.
    The feature model and the fusion are fitted once per view (fusion.py)."""
    found: list[np.ndarray] = []
    for leads in LEAD_SETS.values():
        mask = effective_mask(lead_mask(leads), derive)
        if not any(np.array_equal(mask, seen) for seen in found):
            found.append(mask)
    return np.stack(found)


def views_of(present: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(N,) index of the view of records with leads `present` (N, 12): the smallest view holding
    all of their leads.  Any subset of leads, a single lead or an unusual set, gets the nearest
    view that saw at least its leads in training; the 12-lead view holds every lead."""
    present = np.atleast_2d(np.asarray(present, dtype=bool))
    holds = (masks[None] | ~present[:, None]).all(axis=-1)
    return np.argmin(np.where(holds, masks.sum(axis=1)[None], 13), axis=1)


def by_view(present: np.ndarray, masks: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(view, row indices) for each view that records with leads `present` (N, 12) fall in."""
    view = views_of(present, masks)
    for v in np.unique(view):
        yield int(v), np.flatnonzero(view == v)


def view_of(present: np.ndarray, masks: np.ndarray) -> int:
    """views_of for one record's (12,) leads."""
    return int(views_of(present, masks)[0])


def view_name(mask: np.ndarray) -> str:
    """A view's leads joined by '-', as the Challenge names lead sets ('I-II-III-aVR-aVL-aVF')."""
    return "-".join(lead for lead, present in zip(TWELVE_LEADS, mask) if present)


def odd_subset_note(leads: Sequence[str] | None, derive: bool) -> str | None:
    """A line for a record whose standard leads are not one of the Challenge's five lead sets
    (V1 alone, I and V5): the view it is scored in, which was fitted on other records' leads, and
    where the scores measured for such cases are.  None for the five sets (and all twelve)."""
    if leads is None:
        return None
    standard = tuple(lead for lead in TWELVE_LEADS if lead in set(leads))
    if standard in {tuple(s) for s in LEAD_SETS.values()}:
        return None
    masks = views(derive)
    view = view_name(masks[view_of(effective_mask(lead_mask(standard), derive), masks)])
    return (f"leads {' '.join(standard) or '(none standard)'} are not one of the Challenge's lead sets: scored in "
            f"the view of {view} (docs/configuration.md gives measured scores for such cases)")
