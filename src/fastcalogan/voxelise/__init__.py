"""Voxelisation: hits -> voxel energies (energy-conserving), its inverse, relevant layers."""
