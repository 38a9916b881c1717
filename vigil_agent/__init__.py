"""The Vigil fleet agent: enrols with a claim code, sends heartbeats from the host it runs
on, polls signed commands and runs the actions its host's policy allows.

A package of its own, installable without the console (`pip install vigil-agent`; it needs
only cryptography and psutil): it talks to the console only over HTTP and imports nothing
of it. The console imports `vigil_agent.protocol`, the one definition of what is signed.
"""

__version__ = "0.1.0"  # released with the console of the same version (tests check they match)
