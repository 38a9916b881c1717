"""Indicators everywhere, as an engine below the domains (issue 21).

`matching.py` is the registry of places where a kind of value appears and the one matcher
that turns a value seen there into a sighting; `geo.py` locates an address offline;
`values.py` holds the value forms indicators are stored and matched in. Domains register
their places from their own `intel_places.py`; threats owns the indicators themselves
(app/threats/intel.py) and registers its places like any other domain.
"""
