"""Selection: chi2 of total-energy distributions per checkpoint, best-checkpoint choice."""
