"""The stations of one model line (build.py assembles them from a validated spec)."""
