"""Run folders (``gdynet fit --out DIR``): their layout (:mod:`.rundir`), who writes them (:mod:`.lock`),
``fit``/``scan``/``predict``/``analyze`` into a folder (:mod:`.fit`, :mod:`.scan`, :mod:`.predict`,
:mod:`.analyze` — the analysis engine — with :mod:`.materials`, :mod:`.seeds`, :mod:`.symmetry`,
:mod:`.selection`, :mod:`.analysis_options`, :mod:`.outputs`) and a saved model applied to new data
(:mod:`.model_run`). May import: every package below ``gdynet.commands`` (``gdynet.api`` included).
"""
