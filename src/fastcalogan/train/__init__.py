"""Training: the WGAN-GP loop, energy injection, atomic checkpoints and resume."""
