"""Threshold calibration: the backend-agnostic implementation lives in :mod:`ris_core.calibration`."""

from __future__ import annotations

from ris_core.calibration import Calibration, calibrate

__all__ = ["Calibration", "calibrate"]
