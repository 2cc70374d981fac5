"""Evaluation: physics metrics of generated showers against a reference sample."""
