"""The console's side of the fleet agent: the `vigil agent` command group (`cli.py`: run the
agent from a console checkout, and the simulator of many devices for demos and load tests).

The agent itself is the `vigil_agent` package, installable on a server alone (`pip install
vigil-agent`, entry point `vigil-agent`); the console imports its `protocol` module so both
sides sign and verify the same bytes.
"""
