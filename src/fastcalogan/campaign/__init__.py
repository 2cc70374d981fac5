"""Campaigns: many (particle, eta slice) trainings on Dask."""
