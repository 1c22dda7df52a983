"""The bottom layer: configuration, the business calendar, periods, identity and the table
contracts. Imports nothing else of the package; every other layer may import it."""
