"""The vocabulary every layer shares: errors and warnings (:mod:`.errors`), times and their units
(:mod:`.units`), option names as the user spells them (:mod:`.option_names`), wording helpers
(:mod:`.wording`), progress bars (:mod:`.progress`) and the χ record :class:`~.states.StateProbabilities`.
May import: nothing of gdynet outside ``gdynet.base``.
"""
