"""Run folders, checkpoints and shower files written before geometries had a kind still load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

from fastcalogan.data import geometry_of_file, read_shower_attrs, write_showers
from fastcalogan.geometry import Binning, load_geometry
from fastcalogan.train import (
    TrainConfig,
    TrainedGenerator,
    list_checkpoints,
    load_checkpoint,
    train,
)


def _old_mapping(binning: Binning) -> dict:
    """The mapping the package wrote before: no kind, no layer names, no voxel count."""
    return {
        "name": binning.name,
        "particle": binning.particle,
        "eta": [binning.eta_min, binning.eta_max],
        "layers": [
            {"id": lay.layer_id, "n_alpha": lay.n_alpha, "r_edges": list(lay.r_edges)}
            for lay in binning.layers
        ],
    }


def test_an_old_run_folder_and_its_files_load(
    tmp_path: Path,
    tiny_file: Path,
    tiny_binning: Binning,
    tiny_config: Callable[..., TrainConfig],
) -> None:
    run = tmp_path / "run"
    train(tiny_config(preset="caloshowergan-photon", iterations=2), tiny_file, run)
    expected = tiny_binning.relabel(particle="photon", eta=(0.2, 0.25))
    # binning.yaml as the package wrote it before
    (run / "binning.yaml").write_text(yaml.safe_dump(_old_mapping(tiny_binning), sort_keys=False))
    assert load_geometry(run / "binning.yaml") == tiny_binning
    # a checkpoint whose binning mapping has the old form
    state = load_checkpoint(list_checkpoints(run)[-1])
    state["binning"] = _old_mapping(expected)
    assert TrainedGenerator.from_checkpoint(state, device="cpu").binning == expected
    # a generated file of before: the binning attribute names the run's binning.yaml
    old = write_showers(
        tmp_path / "gen.h5",
        [1024.0],
        np.ones((1, 16)),
        {"binning": str((run / "binning.yaml").resolve())},
    )
    assert geometry_of_file(read_shower_attrs(old)).same_voxels(expected)
