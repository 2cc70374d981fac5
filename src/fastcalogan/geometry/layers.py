"""ATLAS calorimeter sampling ids and their names (CaloCell_ID::CaloSample), and the naming
rule of layers that have no explicit name."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import BinningError

__all__ = ["BARREL_LAYERS", "LAYER_NAMES", "default_layer_names", "layer_name"]

LAYER_NAMES: dict[int, str] = {
    0: "PreSamplerB",
    1: "EMB1",
    2: "EMB2",
    3: "EMB3",
    4: "PreSamplerE",
    5: "EME1",
    6: "EME2",
    7: "EME3",
    8: "HEC0",
    9: "HEC1",
    10: "HEC2",
    11: "HEC3",
    12: "TileBar0",
    13: "TileBar1",
    14: "TileBar2",
    15: "TileGap1",
    16: "TileGap2",
    17: "TileGap3",
    18: "TileExt0",
    19: "TileExt1",
    20: "TileExt2",
    21: "FCAL0",
    22: "FCAL1",
    23: "FCAL2",
}

#: The layers a particle crosses in the barrel (|eta| < 1.4), front to back.
BARREL_LAYERS: tuple[int, ...] = (0, 1, 2, 3, 12, 13, 14)


def layer_name(layer_id: int) -> str:
    """Name of an ATLAS sampling id.

    >>> layer_name(12)
    'TileBar0'
    """
    try:
        return LAYER_NAMES[int(layer_id)]
    except KeyError as err:
        raise BinningError(
            f"layer id {layer_id} is not an ATLAS sampling id (expected 0..23)"
        ) from err


def default_layer_names(layer_ids: Iterable[int]) -> tuple[str, ...]:
    """Names of unnamed layers: ATLAS names when every id is an ATLAS sampling id, else plain.

    A set of ids all within 0..23 is taken for ATLAS sampling ids (the dataset-1 binnings and
    every binning made from them); any id beyond makes them plain integers (CaloChallenge
    datasets 2 and 3 number their 45 layers 0..44), named ``layer <id>``.

    >>> default_layer_names([0, 1, 12])
    ('PreSamplerB', 'EMB1', 'TileBar0')
    >>> default_layer_names([0, 1, 44])
    ('layer 0', 'layer 1', 'layer 44')
    """
    ids = [int(i) for i in layer_ids]
    if all(i in LAYER_NAMES for i in ids):
        return tuple(LAYER_NAMES[i] for i in ids)
    return tuple(f"layer {i}" for i in ids)
