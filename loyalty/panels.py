"""The card panel on the customer 360 (registered in LoyaltyConfig.ready)."""


def register_panels() -> None:
    return None
