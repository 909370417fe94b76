"""The specs an analyst writes in YAML, as pydantic models, and the one way their errors read.

``source.py`` is a landing source (``LandingSource``'s fields, from ``source_fields.py``, and
the rules between them), ``landing.py`` where its files land, and ``errors.py`` turns any
pydantic ValidationError of a spec into ``<file:line>: <field>: <problem>; allowed: <...>``.
"""
