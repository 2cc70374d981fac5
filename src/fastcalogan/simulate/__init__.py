"""Reference simulator: physics-based parametric EM and hadronic showers (numpy, seeded)."""
