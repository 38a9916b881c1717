"""The JSON API's resource registry and the toolkit its resources share (issue 21).

It sits below the domains and engines and above core, so a domain's `app/<domain>/api.py`
registers its resources here without importing the API layer: `registry.py` (`resource`,
`register_schema`, `register_scope`, `owned`, `actor`, `problem`), `auth.py` (the request's
credential and the JSON error form), `validation.py` and `pagination.py`. The API package
(app/api/) reads the registry: it loads every domain's `api` module, adds each resource's
route to its blueprint (`routes_to`) and generates the OpenAPI document from it.
"""
