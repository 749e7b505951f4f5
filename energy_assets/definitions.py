"""Code location 'energy': shared resources, failure alerts and run retention."""

from resources import platform_definitions

defs = platform_definitions("energy")
