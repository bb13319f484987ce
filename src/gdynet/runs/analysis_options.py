"""The options of the analysis (``gdynet analyze``, ``analysis=`` of :func:`gdynet.fit`), checked before
any work: ``fit`` checks them before training, so a typo cannot cost a finished training run its
summary. Errors name the Python keyword, or the CLI flag inside the ``gdynet`` command.
"""
from __future__ import annotations

import difflib
import numbers
from typing import Any, Mapping

import numpy as np

from ..base.errors import GdynetError
from ..base.option_names import option
from ..base.units import lag_to_frames

#: keywords of :func:`gdynet.runs.analyze.analyze` that ``fit(..., analysis={...})`` accepts
ANALYSIS_KEYWORDS = ("lags", "charges", "temperature_K", "ck_steps", "rdf_r_max", "analyze_on", "ci_from",
                     "coarse", "profile", "order_parameter", "shell_radius")


def check_analysis(analysis: Mapping[str, Any] | None, dt_ps: float, *, n_states: int | None = None) -> None:
    """Raise :class:`GdynetError` for an unknown key (with the nearest known one) or an impossible
    value in ``analysis``; ``None`` values mean "default". ``dt_ps`` converts the ``lags``."""
    from ..koopman.covariance import CI_SOURCES
    from .materials import check_options
    from .selection import ANALYZE_ON

    given = dict(analysis or {})
    if not isinstance(analysis, (Mapping, type(None))):
        raise GdynetError(f"analysis must be a dict of analysis options, got {type(analysis).__name__}")
    for key in given:
        if key not in ANALYSIS_KEYWORDS:
            near = difflib.get_close_matches(str(key), ANALYSIS_KEYWORDS, n=1, cutoff=0.5)
            raise GdynetError(f"unknown analysis option {key!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                              + f"; options: {', '.join(ANALYSIS_KEYWORDS)}")
    value = {k: v for k, v in given.items() if v is not None}
    if "lags" in value:
        if isinstance(value["lags"], (str, bytes)) or not len(value["lags"]):
            raise GdynetError(f"{option('lags')} must be a list of lags, e.g. [5, 10] (frames) or "
                              f"[\"0.5ps\", \"1ps\"], got {value['lags']!r}")
        for lag in value["lags"]:
            lag_to_frames(lag, dt_ps, name=option("lags"))
    if "charges" in value:
        charges = value["charges"]
        if isinstance(charges, (str, bytes)) or not all(_real(c) for c in np.atleast_1d(charges)):
            raise GdynetError(f"{option('charges')} must be numbers (e), one per state or one for all, got {charges!r}")
        if n_states is not None and len(np.atleast_1d(charges)) not in (1, n_states):
            raise GdynetError(f"{option('charges')} needs one value or one per state ({n_states}), got "
                              f"{len(np.atleast_1d(charges))}")
    for key, unit in (("temperature_K", "K"), ("rdf_r_max", "Å")):
        if key in value and not (_real(value[key]) and value[key] > 0):
            raise GdynetError(f"{option(key)} must be a positive number of {unit}, got {value[key]!r}")
    if "ck_steps" in value and not (_whole(value["ck_steps"]) and value["ck_steps"] >= 2):
        raise GdynetError(f"{option('ck_steps')} must be a whole number >= 2, got {value['ck_steps']!r}")
    if "coarse" in value:
        top = None if n_states is None else n_states - 1
        if not (_whole(value["coarse"]) and value["coarse"] >= 2 and (top is None or value["coarse"] <= top)):
            raise GdynetError(f"{option('coarse')} must be a whole number from 2 to "
                              f"{top if top is not None else 'S - 1'}, got {value['coarse']!r}")
    if value.get("analyze_on", "test") not in ANALYZE_ON:
        raise GdynetError(f"{option('analyze_on')} must be test or all, got {value['analyze_on']!r}")
    if value.get("ci_from", "auto") not in CI_SOURCES:
        raise GdynetError(f"{option('ci_from')} must be one of {', '.join(CI_SOURCES)}, got {value['ci_from']!r}")
    check_options(value.get("profile"), value.get("order_parameter"), value.get("shell_radius"))


def _real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) and bool(np.isfinite(x))


def _whole(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))
