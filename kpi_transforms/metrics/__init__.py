"""KPIs (the catalogue and the families that compute them), scorecards, audit sampling and the
review sheet: pure functions over fact frames, no warehouse access."""
