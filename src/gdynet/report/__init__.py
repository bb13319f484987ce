"""Figures and the Markdown report.

* :mod:`gdynet.report.figures`: ``plot_implied_timescales``, ``plot_ck_test``, ``plot_populations``,
  ``plot_state_rdf``, ``plot_transition_msd``, ``plot_conduction`` (each writes ``<stem>.png`` and
  ``<stem>.svg`` and returns both paths);
* :mod:`gdynet.report.markdown`: ``write_report(out_dir, *, summary, figures, inputs) -> report.md``.

Import the sub-modules directly (matplotlib is loaded only when figures are made).
"""
