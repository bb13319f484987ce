"""Materials analyses of state probabilities chi: structure (state-weighted RDF, Eq. 12) and
transport (transition-resolved MSD, diffusion and conduction, Eqs. 13-16).

* :func:`gdynet.analysis.rdf.state_rdf` -> :class:`~gdynet.analysis.rdf.StateRDF`
* :func:`gdynet.analysis.conduction.transition_conduction` -> :class:`~gdynet.analysis.conduction.Conduction`
* :func:`gdynet.analysis.unwrap.unwrap_centers`: unwrapped target centres of mass ``(F, n, 3)``
"""
from .conduction import Conduction, transition_conduction
from .rdf import StateRDF, state_rdf
from .unwrap import unwrap_centers

__all__ = ["Conduction", "StateRDF", "state_rdf", "transition_conduction", "unwrap_centers"]
