"""The energy assets, one module per concern."""
