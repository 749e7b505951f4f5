"""Code location 'card': shared resources, failure alerts and run retention."""

from resources import platform_definitions

defs = platform_definitions("card")
