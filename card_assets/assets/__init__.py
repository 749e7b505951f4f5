"""The card assets by stage: extracts per sales org, the window's merge, the users' pages."""
