"""Ready-made hybrid models of the carbon fluxes, and the small process functions behind them.

- :func:`hybrid_q10` — ``RECO = R_b(x) · Q10^((T − 15)/10)``, R_b an MLP of smoothed potential
  radiation, Q10 one global parameter: the hybrid Q10 experiment (Reichstein et al. 2022).
- :func:`lue_q10_nee` — ``GPP = ε(x) · fAPAR · PAR``, ``RECO = R_b(x) · Q10^((T − 15)/10)``,
  ``NEE = RECO − GPP``: trained on NEE alone it partitions NEE into GPP and RECO.
- :func:`direct_fluxes` — GPP and RECO as positive MLP outputs, ``NEE = RECO − GPP``.

Write your own hybrid model in a few lines — a pure process function plus, per parameter, a
source (``Fixed``, ``Global`` or ``Modulated``); the rest (normalisation, trainable groups,
jit) comes with :class:`~hybridflux.hybrid.model.HybridModel`:

    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> from hybridflux.hybrid.model import HybridModel
    >>> from hybridflux.hybrid.sources import Global, Modulated
    >>> from hybridflux.process.respiration import lloyd_taylor
    >>> def reco_lloyd_taylor(params, drivers):
    ...     return {"RECO": lloyd_taylor(drivers["TA_F"], params["R_ref"], e0=params["E0"])}
    >>> model = HybridModel(
    ...     reco_lloyd_taylor,
    ...     {"R_ref": Modulated(["SW_POT_sm", "SWC_F_MDS_1"], lo=0.0, rngs=nnx.Rngs(0)),
    ...      "E0": Global(init=309.0, lo=50.0, hi=500.0)},
    ...     outputs=["RECO"], drivers=["TA_F"])
    >>> batch = {"TA_F": jnp.array([5.0, 15.0]), "SW_POT_sm": jnp.array([150.0, 300.0]),
    ...          "SWC_F_MDS_1": jnp.array([20.0, 30.0])}
    >>> model.set_normalization(batch)
    >>> model(batch)["RECO"].shape
    (2,)

Train it with :class:`hybridflux.losses.Objective` (e.g. ``Objective({"RECO": "RECO_NT_VUT_REF"})``)
and the training engine; ``nnx.split(model, PhysicsParam, nnx.Param, ...)`` separates E0
from the network weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import jax
from flax import nnx
from jax.typing import ArrayLike

from hybridflux.constants import Q10_RESPIRATION
from hybridflux.hybrid.model import HybridModel
from hybridflux.hybrid.sources import Global, Modulated
from hybridflux.process.gpp import fapar_from_lai, lue_gpp
from hybridflux.process.radiation import par_from_shortwave, w_m2_to_mj_per_day
from hybridflux.process.respiration import q10_respiration

__all__ = [
    "q10_reco_process",
    "lue_q10_process",
    "direct_process",
    "hybrid_q10",
    "lue_q10_nee",
    "direct_fluxes",
]


def q10_reco_process(
    params: Mapping[str, jax.Array], drivers: Mapping[str, ArrayLike], *, ta: str = "TA_F"
) -> dict[str, jax.Array]:
    """Q10 respiration ``RECO = R_b · Q10^((T − 15 °C)/10)``.

    Args:
        params: ``"Rb"`` (gC m-2 d-1, base respiration at 15 °C) and ``"Q10"`` (1).
        drivers: batch with the air-temperature column ``ta`` in °C.
        ta: name of the temperature column.

    Returns:
        ``{"RECO": ...}`` in gC m-2 d-1.

    Reference:
        Reichstein et al. (2022), hybrid Q10 experiment.

    Example:
        >>> out = q10_reco_process({"Rb": 2.0, "Q10": 1.5}, {"TA_F": 25.0})
        >>> round(float(out["RECO"]), 3)
        3.0
    """
    return {"RECO": q10_respiration(drivers[ta], params["Rb"], params["Q10"])}


def lue_q10_process(
    params: Mapping[str, jax.Array],
    drivers: Mapping[str, ArrayLike],
    *,
    sw_in: str = "SW_IN_F",
    ta: str = "TA_F",
    fapar: str | None = None,
    lai: str | None = None,
) -> dict[str, jax.Array]:
    """LUE–Q10 partitioning ``NEE = R_b·Q10^((T − 15)/10) − ε·fAPAR·PAR`` (RECO − GPP).

    ``PAR = f_PAR · SW_IN · 0.0864`` converts the daily-mean shortwave (W m-2) to a daily PAR sum
    in MJ m-2 d-1. fAPAR is the ``fapar`` column, Beer's law of the ``lai`` column, or 1 (then
    ε is the efficiency per incident PAR). GPP ≥ 0 for ε ≥ 0; RECO ≥ 0 for R_b ≥ 0.

    Args:
        params: ``"eps"`` (gC MJ-1), ``"Rb"`` (gC m-2 d-1), ``"Q10"`` (1).
        drivers: batch with columns ``sw_in`` (W m-2), ``ta`` (°C), and ``fapar`` (1) or
            ``lai`` (m2 m-2) when named.
        sw_in: name of the daily-mean incoming shortwave column.
        ta: name of the air-temperature column.
        fapar: name of an fAPAR column, or None.
        lai: name of a LAI column, or None (at most one of ``fapar``/``lai``).

    Returns:
        ``{"GPP", "RECO", "NEE"}`` in gC m-2 d-1 (FLUXNET sign: NEE > 0 is a source).

    Reference:
        Monteith (1972); Reichstein et al. (2022); Pastorello et al. (2020) sign convention.

    Example:
        >>> out = lue_q10_process({"eps": 1.0, "Rb": 2.0, "Q10": 2.0},
        ...                       {"SW_IN_F": 200.0, "TA_F": 15.0})
        >>> [round(float(out[k]), 2) for k in ("GPP", "RECO", "NEE")]
        [8.64, 2.0, -6.64]
    """
    par = w_m2_to_mj_per_day(par_from_shortwave(drivers[sw_in]))
    if fapar is not None:
        absorbed = drivers[fapar]
    elif lai is not None:
        absorbed = fapar_from_lai(drivers[lai])
    else:
        absorbed = 1.0
    gpp = lue_gpp(par, absorbed, params["eps"])
    reco = q10_reco_process(params, drivers, ta=ta)["RECO"]
    return {"GPP": gpp, "RECO": reco, "NEE": reco - gpp}


def direct_process(
    params: Mapping[str, jax.Array], drivers: Mapping[str, ArrayLike]
) -> dict[str, jax.Array]:
    """Fluxes predicted directly: GPP and RECO are the parameters, ``NEE = RECO − GPP``.

    Args:
        params: ``"GPP"`` and ``"RECO"`` in gC m-2 d-1.
        drivers: the batch (unused).

    Returns:
        ``{"GPP", "RECO", "NEE"}`` in gC m-2 d-1.

    Example:
        >>> float(direct_process({"GPP": 5.0, "RECO": 3.0}, {})["NEE"])
        -2.0
    """
    del drivers
    gpp, reco = params["GPP"], params["RECO"]
    return {"GPP": gpp, "RECO": reco, "NEE": reco - gpp}


def _rngs(rngs: nnx.Rngs | int) -> nnx.Rngs:
    return rngs if isinstance(rngs, nnx.Rngs) else nnx.Rngs(int(rngs))


@dataclasses.dataclass(frozen=True)
class _Bound:
    """A process function with its column names bound; equal by value, so two models built
    alike have equal graph definitions (and share jit caches)."""

    fn: Callable
    names: tuple[tuple[str, str | None], ...]

    def __call__(self, params, drivers):
        return self.fn(params, drivers, **dict(self.names))


def _partial(fn: Callable, **names: str | None) -> _Bound:
    return _Bound(fn, tuple(sorted(names.items())))


def hybrid_q10(
    covariates: Sequence[str] = ("SW_POT_sm", "SW_POT_sm_diff"),
    *,
    ta: str = "TA_F",
    q10_init: float = 2.0,
    q10_bounds: tuple[float, float] = (0.5, 5.0),
    rb_init: float = Q10_RESPIRATION.r_base,
    hidden: Sequence[int] = (16, 16),
    activation: Callable[[jax.Array], jax.Array] = jax.nn.tanh,
    rngs: nnx.Rngs | int = 0,
) -> HybridModel:
    """The hybrid Q10 model ``RECO = R_b(x) · Q10^((T − 15)/10)`` with a global Q10.

    R_b (gC m-2 d-1, ≥ 0, softplus head) is an MLP of the covariates; Q10 is a
    :class:`Global` in ``q10_bounds``. Keep temperature out of the covariates: with it the
    network can absorb the temperature response and Q10 drifts (equifinality).

    Args:
        covariates: inputs of the R_b network (Reichstein et al. 2022: smoothed potential
            radiation and its change).
        ta: air-temperature column, °C.
        q10_init: starting Q10 (1).
        q10_bounds: ``(lo, hi)`` of Q10.
        rb_init: starting level of R_b in gC m-2 d-1.
        hidden: hidden widths of the R_b network.
        activation: hidden-layer activation (configs: ``tanh``, ``relu``, ``gelu``, ...).
        rngs: ``nnx.Rngs`` or an integer seed.

    Returns:
        A :class:`HybridModel` with output ``"RECO"`` and parameters ``"Rb"``, ``"Q10"``.

    Reference:
        Reichstein et al. (2022); Cohrs et al. (2024) for the synthetic data.

    Example:
        >>> model = hybrid_q10(rngs=0)
        >>> model.inputs, round(float(model.sources["Q10"].value), 3)
        (('TA_F', 'SW_POT_sm', 'SW_POT_sm_diff'), 2.0)
    """
    net = dict(hidden=hidden, activation=activation)
    rb = Modulated(covariates, 0.0, init=rb_init, rngs=_rngs(rngs), **net)
    return HybridModel(
        _partial(q10_reco_process, ta=ta),
        {"Rb": rb, "Q10": Global(q10_init, *q10_bounds)},
        ("RECO",),
        drivers=(ta,),
    )


def lue_q10_nee(
    gpp_covariates: Sequence[str] = ("TA_F", "VPD_F", "SW_IN_F"),
    rb_covariates: Sequence[str] = ("SW_POT_sm", "SW_POT_sm_diff"),
    *,
    sw_in: str = "SW_IN_F",
    ta: str = "TA_F",
    fapar: str | None = None,
    lai: str | None = None,
    eps_bounds: tuple[float, float] = (0.0, 5.0),
    eps_init: float = 1.0,
    q10_init: float = 2.0,
    q10_bounds: tuple[float, float] = (0.5, 5.0),
    rb_init: float = Q10_RESPIRATION.r_base,
    hidden: Sequence[int] = (16, 16),
    activation: Callable[[jax.Array], jax.Array] = jax.nn.tanh,
    rngs: nnx.Rngs | int = 0,
) -> HybridModel:
    """NEE-partitioning hybrid model: LUE GPP and Q10 RECO, ``NEE = RECO − GPP``.

    ε (gC MJ-1, sigmoid head in ``eps_bounds``) is an MLP of ``gpp_covariates`` (it absorbs
    the temperature, VPD and water stress scalars, and fAPAR when neither ``fapar`` nor
    ``lai`` is given); R_b (softplus, ≥ 0) an MLP of ``rb_covariates``; Q10 a :class:`Global`.
    See :func:`lue_q10_process` for the equations and units.

    Args:
        gpp_covariates: inputs of the ε network (add e.g. a SWC column for water stress).
        rb_covariates: inputs of the R_b network (leave temperature out, see
            :func:`hybrid_q10`).
        sw_in: daily-mean incoming shortwave column, W m-2.
        ta: air-temperature column, °C.
        fapar: optional fAPAR column (1).
        lai: optional LAI column (m2 m-2), converted by Beer's law.
        eps_bounds: ``(lo ≥ 0, hi)`` of ε in gC MJ-1.
        eps_init: starting level of ε.
        q10_init: starting Q10.
        q10_bounds: ``(lo, hi)`` of Q10.
        rb_init: starting level of R_b in gC m-2 d-1.
        hidden: hidden widths of both networks.
        activation: hidden-layer activation of both networks.
        rngs: ``nnx.Rngs`` or an integer seed.

    Returns:
        A :class:`HybridModel` with outputs ``"NEE"``, ``"GPP"``, ``"RECO"``.

    Reference:
        Monteith (1972); Reichstein et al. (2022); Tramontana et al. (2020).

    Example:
        >>> lue_q10_nee(rngs=0).inputs
        ('SW_IN_F', 'TA_F', 'VPD_F', 'SW_POT_sm', 'SW_POT_sm_diff')
    """
    if fapar is not None and lai is not None:
        raise ValueError("Give at most one of fapar= and lai= (the fAPAR source).")
    if eps_bounds[0] < 0:
        raise ValueError(f"eps_bounds must be non-negative (GPP >= 0), got {eps_bounds}.")
    rngs, net = _rngs(rngs), dict(hidden=hidden, activation=activation)
    sources = {
        "eps": Modulated(gpp_covariates, *eps_bounds, init=eps_init, rngs=rngs, **net),
        "Rb": Modulated(rb_covariates, 0.0, init=rb_init, rngs=rngs, **net),
        "Q10": Global(q10_init, *q10_bounds),
    }
    drivers = tuple(c for c in (sw_in, ta, fapar, lai) if c is not None)
    process = _partial(lue_q10_process, sw_in=sw_in, ta=ta, fapar=fapar, lai=lai)
    return HybridModel(process, sources, ("NEE", "GPP", "RECO"), drivers=drivers)


def direct_fluxes(
    covariates: Sequence[str] = ("TA_F", "VPD_F", "SW_IN_F"),
    *,
    hidden: Sequence[int] = (16, 16),
    gpp_init: float = 2.0,
    reco_init: float = Q10_RESPIRATION.r_base,
    activation: Callable[[jax.Array], jax.Array] = jax.nn.tanh,
    rngs: nnx.Rngs | int = 0,
) -> HybridModel:
    """GPP and RECO as non-negative MLP outputs (softplus heads), ``NEE = RECO − GPP``.

    The purely data-driven baseline with the carbon balance built in.

    Args:
        covariates: inputs of both networks.
        hidden: hidden widths of both networks.
        gpp_init: starting level of GPP in gC m-2 d-1.
        reco_init: starting level of RECO in gC m-2 d-1.
        activation: hidden-layer activation of both networks.
        rngs: ``nnx.Rngs`` or an integer seed.

    Returns:
        A :class:`HybridModel` with outputs ``"NEE"``, ``"GPP"``, ``"RECO"``.

    Reference:
        Tramontana et al. (2020), Glob. Change Biol. 26, 5235–5253.

    Example:
        >>> sorted(direct_fluxes(rngs=0).sources)
        ['GPP', 'RECO']
    """
    rngs, net = _rngs(rngs), dict(hidden=hidden, activation=activation)
    sources = {
        "GPP": Modulated(covariates, 0.0, init=gpp_init, rngs=rngs, **net),
        "RECO": Modulated(covariates, 0.0, init=reco_init, rngs=rngs, **net),
    }
    return HybridModel(direct_process, sources, ("NEE", "GPP", "RECO"))
