"""Figures and the Markdown report.

* :mod:`gdynet.report.figures`: ``draw_implied_timescales``, ``draw_ck_test``, ``draw_populations``,
  ``draw_state_rdf``, ``draw_transition_msd``, ``draw_conduction``, ... (each returns a matplotlib
  Figure, drawn into ``ax=`` when given) and ``save_<name>(result, stem)`` for the report (writes
  ``<stem>.png`` and ``<stem>.svg`` and returns both paths); notebooks use ``gdynet.plot_<name>``
  (:mod:`gdynet.plots`);
* :mod:`gdynet.report.markdown`: ``write_report(out_dir, *, summary, figures, inputs) -> report.md``.

Import the sub-modules directly (matplotlib is loaded only when figures are made).

May import: ``gdynet.base``, ``gdynet.files``, ``gdynet.trajectory``, ``gdynet.koopman``, ``gdynet.analysis``.
"""
