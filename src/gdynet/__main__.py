"""``python -m gdynet`` runs the command line."""
from .cli import app

app(prog_name="gdynet")
