"""The ``gdynet`` command-line verbs, one thin module each (fit, scan, predict, analyze, demo, example):
they turn options into calls of ``gdynet.runs`` and print the result; :mod:`gdynet.cli` wires them
into typer. May import: every package of gdynet but ``gdynet.cli``.
"""
