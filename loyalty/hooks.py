"""What loyalty lends the lower apps through their hooks (registered in
LoyaltyConfig.ready): e.g. the labour discount a repair order shows."""


def register_hooks() -> None:
    return None
