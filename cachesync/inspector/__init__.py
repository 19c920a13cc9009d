"""The consistency inspector: "N nines of writes consistent within M s" per region."""
