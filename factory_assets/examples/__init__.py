"""Example upstreams: simulators that lay out a public dataset as its publisher would drop it.

They stand in for the systems a team would ingest from; the product never imports them.
"""
