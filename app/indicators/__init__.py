"""Indicators everywhere, as an engine below the domains (issue 21).

`matching.py` is the registry of places where a kind of value appears and the one matcher
that turns a value seen there into a sighting; `geo.py` locates an address offline;
`values.py` holds the value forms indicators are stored and matched in; `store.py` adds,
renews and looks up an organization's indicators (a canary hit or a scan uses it without
importing threats). Domains register their places from their own `intel_places.py`; threats
owns the pages, imports and sightings around the indicators (app/threats/intel.py) and
registers its places like any other domain.
"""
