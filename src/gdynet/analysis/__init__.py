"""Materials analyses of state probabilities chi: structure (state-weighted RDF, Eq. 12; density
profiles along an axis; Steinhardt order parameter; charge integral and state charges) and transport
(transition-resolved MSD, diffusion and conduction, Eqs. 13-16).

* :func:`gdynet.analysis.rdf.state_rdf` -> :class:`~gdynet.analysis.rdf.StateRDF`
* :func:`gdynet.analysis.profile.state_profile` -> :class:`~gdynet.analysis.profile.StateProfile`,
  :func:`~gdynet.analysis.profile.state_snapshot` (Fig. 3b, c)
* :func:`gdynet.analysis.order.state_order_parameter` -> :class:`~gdynet.analysis.order.StateOrderParameter`
* :func:`gdynet.analysis.charge.state_charge_integral` -> :class:`~gdynet.analysis.charge.ChargeIntegral`,
  :func:`~gdynet.analysis.charge.state_charges` (Fig. 4c, Supp. Table 1)
* :func:`gdynet.analysis.conduction.transition_conduction` -> :class:`~gdynet.analysis.conduction.Conduction`
* :func:`gdynet.analysis.unwrap.unwrap_centers`: unwrapped target centres of mass ``(F, n, 3)``

May import: ``gdynet.base``, ``gdynet.files``, ``gdynet.trajectory``, ``gdynet.graphs``, ``gdynet.koopman``.
"""
from .charge import ChargeIntegral, state_charge_integral, state_charges
from .conduction import Conduction, transition_conduction
from .order import StateOrderParameter, state_order_parameter
from .profile import StateProfile, state_profile, state_snapshot
from .rdf import StateRDF, state_rdf
from .unwrap import unwrap_centers

__all__ = ["ChargeIntegral", "Conduction", "StateOrderParameter", "StateProfile", "StateRDF", "state_charge_integral",
           "state_charges", "state_order_parameter", "state_profile", "state_rdf", "state_snapshot",
           "transition_conduction", "unwrap_centers"]
