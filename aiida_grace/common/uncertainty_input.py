"""Settings of the uncertainty jobs (``grace_uq build`` and ``grace_uq select``), checked before submission.

No aiida imports: the CalcJobs validate with these and the driver maps them onto ``grace_uq``'s options.
"""

from __future__ import annotations

BUILD_DEFAULTS = {
    "n_clusters": [1, 2, 4, 8, 16],  # GMM clusters per element; several values: grace_uq picks one by the elbow
    "threshold_percentile": None,  # γ = 1 at this percentile of the training σ; None: median + 3·MAD fence
    "regularization": 1.0e-6,  # Tikhonov ε added to each cluster covariance
    "rp_dim": None,  # random-projection feature width; None: grace_uq's default (128)
    "seed": 42,
}

STRATEGIES = ("fps-extrap", "calm-greedy", "fps-all", "random-extrap", "random-all")

SELECT_DEFAULTS = {
    "n_structures": 10,  # budget: frames to pick
    "strategy": "fps-extrap",
    "gamma_min": 1.5,  # only atoms above this γ are candidates of the *-extrap strategies
    "gamma_max": None,  # skip atoms above this γ (broken frames); None: no cap
    "element_stratified": None,  # None: grace_uq's default for the strategy
    "min_per_element": None,
    "seed": 42,
}


class UncertaintySettingsError(ValueError):
    """Settings that ``grace_uq`` would refuse or misread."""


def _check_unknown(settings: dict, defaults: dict, what: str) -> None:
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise UncertaintySettingsError(f"unknown {what} setting(s) {', '.join(unknown)}; known: {', '.join(defaults)}")


def _positive(value, name: str, kind=int) -> None:
    types = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, types) or value <= 0:
        raise UncertaintySettingsError(f"{name} must be a positive {kind.__name__}, got {value!r}")


def build_settings(settings: dict | None) -> dict:
    """``settings`` completed with :data:`BUILD_DEFAULTS`; raises :class:`UncertaintySettingsError`."""
    settings = dict(settings or {})
    _check_unknown(settings, BUILD_DEFAULTS, "uncertainty build")
    merged = {**BUILD_DEFAULTS, **settings}
    clusters = merged["n_clusters"]
    clusters = [clusters] if isinstance(clusters, int) and not isinstance(clusters, bool) else clusters
    if not isinstance(clusters, (list, tuple)) or not clusters:
        raise UncertaintySettingsError(f"n_clusters must be a positive int or a list of them, got {clusters!r}")
    for value in clusters:
        _positive(value, "n_clusters")
    merged["n_clusters"] = sorted(set(clusters))
    percentile = merged["threshold_percentile"]
    if percentile is not None and not (isinstance(percentile, (int, float)) and 0 < percentile <= 100):
        raise UncertaintySettingsError(f"threshold_percentile must be in (0, 100], got {percentile!r}")
    _positive(merged["regularization"], "regularization", float)
    if merged["rp_dim"] is not None:
        _positive(merged["rp_dim"], "rp_dim")
    if not isinstance(merged["seed"], int):
        raise UncertaintySettingsError(f"seed must be an integer, got {merged['seed']!r}")
    return merged


def select_settings(settings: dict | None) -> dict:
    """``settings`` completed with :data:`SELECT_DEFAULTS`; raises :class:`UncertaintySettingsError`."""
    settings = dict(settings or {})
    _check_unknown(settings, SELECT_DEFAULTS, "selection")
    merged = {**SELECT_DEFAULTS, **settings}
    _positive(merged["n_structures"], "n_structures")
    if merged["strategy"] not in STRATEGIES:
        raise UncertaintySettingsError(f"strategy must be one of {', '.join(STRATEGIES)}, got {merged['strategy']!r}")
    for key in ("gamma_min", "gamma_max"):
        if merged[key] is not None:
            _positive(merged[key], key, float)
    if merged["gamma_max"] is not None and merged["gamma_min"] is not None \
            and merged["gamma_max"] <= merged["gamma_min"]:
        raise UncertaintySettingsError(f"gamma_max ({merged['gamma_max']}) must exceed gamma_min "
                                       f"({merged['gamma_min']})")
    if merged["element_stratified"] not in (None, True, False):
        raise UncertaintySettingsError("element_stratified must be true, false or null")
    if merged["min_per_element"] is not None:
        _positive(merged["min_per_element"], "min_per_element")
    if not isinstance(merged["seed"], int):
        raise UncertaintySettingsError(f"seed must be an integer, got {merged['seed']!r}")
    return merged


def build_arguments(settings: dict) -> list[str]:
    """``grace_uq build`` options of completed build ``settings`` (the paths are added by the driver)."""
    arguments = ["--n-clusters", *map(str, settings["n_clusters"]), "--regularization", str(settings["regularization"]),
                 "--seed", str(settings["seed"])]
    if settings["threshold_percentile"] is not None:
        arguments += ["--threshold-percentile", str(settings["threshold_percentile"])]
    if settings["rp_dim"] is not None:
        arguments += ["--rp-dim", str(settings["rp_dim"])]
    return arguments


def select_arguments(settings: dict) -> list[str]:
    """``grace_uq select`` options of completed selection ``settings`` (paths added by the driver)."""
    arguments = ["-n", str(settings["n_structures"]), "--strategy", settings["strategy"], "--seed", str(settings["seed"])]
    for key in ("gamma_min", "gamma_max", "min_per_element"):
        if settings[key] is not None:
            arguments += [f"--{key.replace('_', '-')}", str(settings[key])]
    if settings["element_stratified"] is True:
        arguments.append("--element-stratified")
    elif settings["element_stratified"] is False:
        arguments.append("--no-element-stratified")
    return arguments
