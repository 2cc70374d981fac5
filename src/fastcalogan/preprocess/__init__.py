"""Preprocessing: invertible transforms between MeV voxels and network inputs."""
