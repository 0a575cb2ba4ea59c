"""The pure core: rules, advice, availability, slots, plans, aftercare. No I/O, no frameworks."""
