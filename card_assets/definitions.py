"""Code location 'card': shared resources, failure alerts and run retention (no assets yet)."""

from resources import load_settings, location_definitions

settings = load_settings()
defs = location_definitions("card", settings)
