"""Hostile but realistic command lines, run as real processes, tabulated (issue 13).

Builds a scratch folder of small inputs (showers, hits, a trained run, an ONNX export, configs,
binnings, damaged and malformed files), then runs every case below as its own ``fastcalogan``
process and records its exit code, its error line and what went wrong beyond it: a traceback,
a signal (a crash), more than one error line, an unexpected exit code, a temporary file left
behind, or an input that changed. Cases marked ``tmpfs`` run with their output on a small
tmpfs in a private mount namespace (``unshare -rm``), skipped where that is not available.

    OMP_NUM_THREADS=1 python scripts/hostile_cli.py --out hostile.json [--jobs 2]

Run it against another source tree (to compare with an older version) by putting that tree
first on the path: ``PYTHONPATH=/path/to/other/src python scripts/hostile_cli.py``. The setup
uses only functions both trees have.
"""

# the case table reads best one case a line
# ruff: noqa: E501

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-c", "from fastcalogan.cli import main; main()"]


@dataclass(frozen=True)
class Case:
    """One command line: ``args`` with ``{S}`` for the scratch folder and ``{T}`` for the tmpfs.

    Attributes:
        name: short label.
        group: the issue's heading it belongs to, or ``extra`` for cases beyond the issue.
        args: the arguments after ``fastcalogan``.
        expect: the exit code a correct program gives (2: a user error in one line).
        tmpfs: size of the tmpfs mounted at ``{T}`` (e.g. ``"256k"``), or ``None``.
        guard: inputs (relative to the scratch folder) that must be unchanged afterwards.
        hold: a run folder (relative) a concurrent training holds while the case runs.
    """

    name: str
    group: str
    args: tuple[str, ...]
    expect: int = 2
    tmpfs: str | None = None
    guard: tuple[str, ...] = ()
    hold: str | None = None


def _c(name: str, group: str, args: str, expect: int = 2, **kw: Any) -> Case:
    return Case(name, group, tuple(args.split()), expect, **kw)


LOST, CRASH, SILENT, MISLEAD, EXTRA = "lost", "crash", "silent", "mislead", "extra"

CASES: list[Case] = [
    # ---- data lost or corrupted (issue 13) ----
    _c(
        "voxelise -o its binning xml",
        LOST,
        "voxelise {S}/hits.h5 --binning {S}/b.xml -o {S}/b.xml",
        guard=("b.xml",),
    ),
    _c(
        "generate -o the run's training file",
        LOST,
        "generate {S}/run --energies 1024 -o {S}/photons.h5",
        guard=("photons.h5",),
    ),
    _c(
        "generate -o a link to the training file",
        LOST,
        "generate {S}/run --energies 1024 -o {S}/link.h5",
        guard=("photons.h5",),
    ),
    _c(
        "generate -o a checkpoint",
        LOST,
        "generate {S}/run --energies 1024 -o {S}/run/checkpoints/ckpt-00000004.pt",
        guard=("run/checkpoints/ckpt-00000004.pt",),
    ),
    _c(
        "generate -o run.json",
        LOST,
        "generate {S}/run --energies 1024 -o {S}/run/run.json",
        guard=("run/run.json",),
    ),
    _c(
        "export -o the training file",
        LOST,
        "export {S}/run -o {S}/photons.h5",
        guard=("photons.h5",),
    ),
    _c(
        "export -o a checkpoint",
        LOST,
        "export {S}/run -o {S}/run/checkpoints/ckpt-00000002.pt",
        guard=("run/checkpoints/ckpt-00000002.pt",),
    ),
    _c(
        "invert -o its input",
        LOST,
        "invert {S}/photons.h5 -o {S}/photons.h5",
        guard=("photons.h5",),
    ),
    _c("voxelise -o its input", LOST, "voxelise {S}/hits.h5 -o {S}/hits.h5", guard=("hits.h5",)),
    _c(
        "voxelise -o its --config",
        LOST,
        "voxelise {S}/hits.h5 --config {S}/vox.yaml -o {S}/vox.yaml",
        guard=("vox.yaml",),
    ),
    _c(
        "simulate --hits = -o",
        LOST,
        "simulate --particle photon --events 20 -o {S}/same.h5 --hits {S}/same.h5",
    ),
    _c(
        "simulate -o its --binning yaml",
        LOST,
        "simulate --particle photon --events 20 --binning {S}/ds1.yaml -o {S}/ds1.yaml",
        guard=("ds1.yaml",),
    ),
    _c(
        "evaluate -o = reference file",
        LOST,
        "evaluate --reference {S}/photons.h5 --generated {S}/gen.h5 -o {S}/photons.h5",
        guard=("photons.h5",),
    ),
    _c(
        "train: second writer of a run folder",
        LOST,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/held",
        hold="held",
    ),
    _c(
        "generate from a flipped checkpoint",
        LOST,
        "generate {S}/flipped --energies 1024 -o {S}/out-flipped.h5",
    ),
    _c("select scores a flipped checkpoint", LOST, "select {S}/flipped", expect=0),
    _c(
        "resume from a truncated checkpoint",
        LOST,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/truncated --set iterations=6",
        expect=0,
    ),
    _c("select with a truncated checkpoint", LOST, "select {S}/truncated2", expect=0),
    _c(
        "generate --onnx with a changed model",
        LOST,
        "generate --onnx {S}/changed.onnx --energies 1024 -o {S}/out-onnx.h5",
    ),
    # ---- crashes (issue 13) ----
    _c(
        "simulate on a full disk",
        CRASH,
        "simulate --particle photon --energies 1024 --events 3000 -o {T}/p.h5",
        tmpfs="300k",
    ),
    _c(
        "generate on a full disk",
        CRASH,
        "generate {S}/run --energies 1024,8192 -n 3000 -o {T}/g.h5",
        tmpfs="300k",
    ),
    _c("invert on a full disk", CRASH, "invert {S}/photons.h5 -o {T}/h.h5", tmpfs="100k"),
    _c("voxelise on a full disk", CRASH, "voxelise {S}/hits.h5 -o {T}/v.h5", tmpfs="40k"),
    _c(
        "train on a full disk",
        CRASH,
        "train {S}/train.yaml --data {S}/photons.h5 -o {T}/run",
        tmpfs="200k",
    ),
    _c("strings in the hits' r column", CRASH, "voxelise {S}/hits-strings.h5 -o {S}/o.h5"),
    _c(
        "batch_size 1e9",
        CRASH,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-batch --set batch_size=1000000000",
    ),
    # ---- accepted without a word (issue 13) ----
    _c(
        "lr 1e300",
        SILENT,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-lr --set lr=1.0e+300",
    ),
    _c(
        "iterations 1e23",
        SILENT,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-it --set iterations=100000000000000000000000",
    ),
    _c(
        "schema_version 99",
        SILENT,
        "train {S}/schema99.yaml --data {S}/photons.h5 -o {S}/r-schema",
    ),
    _c(
        "duplicate YAML keys",
        SILENT,
        "train {S}/duplicate.yaml --data {S}/photons.h5 -o {S}/r-dup",
    ),
    _c("hits with alpha 4", SILENT, "voxelise {S}/hits-alpha4.h5 -o {S}/o.h5"),
    _c("hits with alpha 100", SILENT, "voxelise {S}/hits-alpha100.h5 -o {S}/o.h5"),
    _c("hits with layer -1", SILENT, "voxelise {S}/hits-layer-1.h5 -o {S}/o.h5"),
    _c("hits with float layers", SILENT, "voxelise {S}/hits-layerfloat.h5 -o {S}/o.h5"),
    _c("hits with layer 99", SILENT, "voxelise {S}/hits-layer99.h5 -o {S}/o.h5"),
    _c(
        "binning for |eta| 1.50-2.00 trains 0.20-0.25",
        SILENT,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-eta --set binning={S}/b-eta.xml",
    ),
    _c(
        "binning for pions trains photons",
        SILENT,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-pion --set binning={S}/pion-labelled.yaml",
    ),
    _c(
        "... unless allowed",
        SILENT,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-allowed --set binning={S}/b-eta.xml --set allow_geometry_mismatch=true --set iterations=2",
        expect=0,
    ),
    _c(
        "voxelise with a pion binning",
        SILENT,
        "voxelise {S}/hits.h5 --binning ds1-pions -o {S}/o.h5",
    ),
    _c(
        "voxelise with an |eta| 1.50-2.00 xml",
        SILENT,
        "voxelise {S}/hits.h5 --binning {S}/b-eta.xml -o {S}/o.h5",
    ),
    # ---- messages that mislead (issue 13) ----
    _c(
        "--set iterations=abc",
        MISLEAD,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set iterations=abc",
    ),
    _c(
        "cross-field: eta reversed",
        MISLEAD,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set eta=[0.5,0.2]",
    ),
    _c(
        "cross-field: preset of another family",
        MISLEAD,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set preset=vae-mlp --set family=wgan-gp-mlp",
    ),
    _c(
        "cross-field: model.latent_dim 0",
        MISLEAD,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set model.latent_dim=0",
    ),
    _c("3-D showers dataset", MISLEAD, "inspect {S}/showers3d.h5"),
    _c(
        "3-D showers dataset (train)",
        MISLEAD,
        "train {S}/train.yaml --data {S}/showers3d.h5 -o {S}/r-x",
    ),
    _c("decreasing hit offsets", MISLEAD, "voxelise {S}/hits-offsets.h5 -o {S}/o.h5"),
    _c("select a missing folder", MISLEAD, "select {S}/nothing"),
    _c("export a missing folder", MISLEAD, "export {S}/nothing -o {S}/g.onnx"),
    _c("generate a missing folder", MISLEAD, "generate {S}/nothing --energies 1024 -o {S}/g.h5"),
    _c(
        "evaluate -o a file (before the work)",
        MISLEAD,
        "evaluate --reference {S}/photons.h5 --generated {S}/gen.h5 -o {S}/afile",
    ),
    _c(
        "simulate -o a folder (before the work)",
        MISLEAD,
        "simulate --particle photon --events 2000 -o {S}/afolder",
    ),
    _c(
        "campaign rerun of finished work",
        MISLEAD,
        "campaign run {S}/campaign.yaml -o {S}/camp",
        expect=0,
    ),
    # ---- beyond the issue ----
    _c("simulate: unknown particle", EXTRA, "simulate --particle gluon -o {S}/o.h5"),
    _c("simulate: eta reversed", EXTRA, "simulate --particle photon --eta 0.5 0.2 -o {S}/o.h5"),
    _c(
        "simulate: eta beyond the barrel",
        EXTRA,
        "simulate --particle photon --eta 1.5 2.0 -o {S}/o.h5",
    ),
    _c(
        "simulate: energy out of range",
        EXTRA,
        "simulate --particle photon --energies 10 -o {S}/o.h5",
    ),
    _c(
        "simulate: energies not numbers",
        EXTRA,
        "simulate --particle photon --energies abc -o {S}/o.h5",
    ),
    _c("simulate: zero events", EXTRA, "simulate --particle photon --events 0 -o {S}/o.h5"),
    _c("simulate: negative seed", EXTRA, "simulate --particle photon --seed -1 -o {S}/o.h5"),
    _c("simulate: batch size 0", EXTRA, "simulate --particle photon --batch-size 0 -o {S}/o.h5"),
    _c(
        "simulate: -o below a file",
        EXTRA,
        "simulate --particle photon --events 20 -o {S}/afile/o.h5",
    ),
    _c("simulate: -o in /proc", EXTRA, "simulate --particle photon --events 20 -o /proc/o.h5"),
    _c(
        "simulate: missing --binning file",
        EXTRA,
        "simulate --particle photon --binning {S}/nope.xml -o {S}/o.h5",
    ),
    _c(
        "simulate: --binning a text file",
        EXTRA,
        "simulate --particle photon --binning {S}/notes.txt -o {S}/o.h5",
    ),
    _c(
        "simulate: events not a number",
        EXTRA,
        "simulate --particle photon --events many -o {S}/o.h5",
    ),
    _c("simulate: missing -o", EXTRA, "simulate --particle photon"),
    _c(
        "simulate: ok, replacing a file",
        EXTRA,
        "simulate --particle photon --energies 1024 --events 20 -o {S}/replaced.h5",
        expect=0,
    ),
    _c("voxelise: missing hit file", EXTRA, "voxelise {S}/nothing.h5 -o {S}/o.h5"),
    _c("voxelise: a shower file as hits", EXTRA, "voxelise {S}/photons.h5 -o {S}/o.h5"),
    _c("voxelise: a text file as hits", EXTRA, "voxelise {S}/notes.txt -o {S}/o.h5"),
    _c("voxelise: truncated hit file", EXTRA, "voxelise {S}/hits-truncated.h5 -o {S}/o.h5"),
    _c("voxelise: negative r", EXTRA, "voxelise {S}/hits-negr.h5 -o {S}/o.h5"),
    _c("voxelise: NaN energy", EXTRA, "voxelise {S}/hits-nan.h5 -o {S}/o.h5"),
    _c("voxelise: offsets ending short", EXTRA, "voxelise {S}/hits-short.h5 -o {S}/o.h5"),
    _c("voxelise: --chunk-events 0", EXTRA, "voxelise {S}/hits.h5 --chunk-events 0 -o {S}/o.h5"),
    _c(
        "voxelise: --set chunk_events=abc",
        EXTRA,
        "voxelise {S}/hits.h5 --set chunk_events=abc -o {S}/o.h5",
    ),
    _c(
        "voxelise: --set unknown key", EXTRA, "voxelise {S}/hits.h5 --set chunk_event=5 -o {S}/o.h5"
    ),
    _c(
        "voxelise: --set not KEY=VALUE",
        EXTRA,
        "voxelise {S}/hits.h5 --set chunk_events -o {S}/o.h5",
    ),
    _c(
        "voxelise: --config with a duplicate key",
        EXTRA,
        "voxelise {S}/hits.h5 --config {S}/vox-dup.yaml -o {S}/o.h5",
    ),
    _c(
        "voxelise: --config missing",
        EXTRA,
        "voxelise {S}/hits.h5 --config {S}/nope.yaml -o {S}/o.h5",
    ),
    _c(
        "voxelise: --config binary",
        EXTRA,
        "voxelise {S}/hits.h5 --config {S}/photons.h5 -o {S}/o.h5",
    ),
    _c("voxelise: --binning unknown name", EXTRA, "voxelise {S}/hits.h5 --binning ds9 -o {S}/o.h5"),
    _c("voxelise: -o a folder", EXTRA, "voxelise {S}/hits.h5 -o {S}/afolder"),
    _c("voxelise: ok", EXTRA, "voxelise {S}/hits.h5 -o {S}/vox-ok.h5", expect=0),
    _c("invert: 3-D showers", EXTRA, "invert {S}/showers3d.h5 -o {S}/o.h5"),
    _c("invert: missing file", EXTRA, "invert {S}/nothing.h5 -o {S}/o.h5"),
    _c("invert: truncated shower file", EXTRA, "invert {S}/photons-truncated.h5 -o {S}/o.h5"),
    _c(
        "invert: a binning of the wrong size",
        EXTRA,
        "invert {S}/photons.h5 --binning ds1-pions -o {S}/o.h5",
    ),
    _c("invert: -o a folder", EXTRA, "invert {S}/photons.h5 -o {S}/afolder"),
    _c("inspect: missing file", EXTRA, "inspect {S}/nothing.h5"),
    _c("inspect: a text file", EXTRA, "inspect {S}/notes.txt"),
    _c("inspect: hits with strings", EXTRA, "inspect {S}/hits-strings.h5"),
    _c("inspect: ok", EXTRA, "inspect {S}/photons.h5", expect=0),
    _c(
        "train: config missing",
        EXTRA,
        "train {S}/nope.yaml --data {S}/photons.h5 -o {S}/r-x",
    ),
    _c(
        "train: config not YAML",
        EXTRA,
        "train {S}/bad.yaml --data {S}/photons.h5 -o {S}/r-x",
    ),
    _c("train: config a list", EXTRA, "train {S}/list.yaml --data {S}/photons.h5 -o {S}/r-x"),
    _c(
        "train: config binary",
        EXTRA,
        "train {S}/photons.h5 --data {S}/photons.h5 -o {S}/r-x",
    ),
    _c(
        "train: --set lrr (did you mean)",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set lrr=1",
    ),
    _c(
        "train: iterations 0",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set iterations=0",
    ),
    _c(
        "train: lr -1",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set lr=-1",
    ),
    _c(
        "train: lr inf",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set lr=.inf",
    ),
    _c(
        "train: unknown preset",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set preset=gpt",
    ),
    _c(
        "train: threads 0",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set threads=0",
    ),
    _c(
        "train: device cuda without one",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set device=cuda",
    ),
    _c(
        "train: energy range without events",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/r-x --set energy_range=[1,2]",
    ),
    _c(
        "train: --data missing",
        EXTRA,
        "train {S}/train.yaml --data {S}/nothing.h5 -o {S}/r-x",
    ),
    _c(
        "train: --data a hit file",
        EXTRA,
        "train {S}/train.yaml --data {S}/hits.h5 -o {S}/r-x",
    ),
    _c(
        "train: --data without events",
        EXTRA,
        "train {S}/train.yaml --data {S}/empty.h5 -o {S}/r-x",
    ),
    _c(
        "train: --run-dir a file",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/afile",
    ),
    _c(
        "train: resume with another architecture",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/run --set model.latent_dim=7",
    ),
    _c(
        "train: resume with every checkpoint damaged",
        EXTRA,
        "train {S}/train.yaml --data {S}/photons.h5 -o {S}/alldamaged --set iterations=6",
    ),
    _c(
        "train: resume from the run's own config.yaml",
        EXTRA,
        "train {S}/run/config.yaml --data {S}/photons.h5 -o {S}/run",
        expect=0,
    ),
    _c(
        "train: a config that is the data",
        EXTRA,
        "train {S}/train.yaml --data {S}/train.yaml -o {S}/r-x",
    ),
    _c("select: run without checkpoints", EXTRA, "select {S}/afolder"),
    _c("select: --reference missing", EXTRA, "select {S}/run --reference {S}/nothing.h5"),
    _c("select: --reference of another size", EXTRA, "select {S}/run --reference {S}/pions.h5"),
    _c("select: events_per_point 0", EXTRA, "select {S}/run --set events_per_point=0"),
    _c("select: bad --figure-of-merit", EXTRA, "select {S}/run --figure-of-merit chi3"),
    _c("select: training data gone", EXTRA, "select {S}/orphan"),
    _c("generate: energies not numbers", EXTRA, "generate {S}/run --energies abc -o {S}/o.h5"),
    _c("generate: negative energy", EXTRA, "generate {S}/run --energies -5 -o {S}/o.h5"),
    _c("generate: -n 0", EXTRA, "generate {S}/run --energies 1024 -n 0 -o {S}/o.h5"),
    _c(
        "generate: batch size 0",
        EXTRA,
        "generate {S}/run --energies 1024 --batch-size 0 -o {S}/o.h5",
    ),
    _c(
        "generate: run and --onnx",
        EXTRA,
        "generate {S}/run --onnx {S}/gen.onnx --energies 1024 -o {S}/o.h5",
    ),
    _c("generate: neither run nor --onnx", EXTRA, "generate --energies 1024 -o {S}/o.h5"),
    _c(
        "generate: pions from a photon run",
        EXTRA,
        "generate {S}/run --energies 1024 --particle pion -o {S}/o.h5",
    ),
    _c(
        "generate: energy outside the trained range",
        EXTRA,
        "generate {S}/run --energies 9e9 -o {S}/o.h5",
    ),
    _c("generate: -o a folder", EXTRA, "generate {S}/run --energies 1024 -o {S}/afolder"),
    _c(
        "generate: --onnx without its sidecar",
        EXTRA,
        "generate --onnx {S}/nosidecar.onnx --energies 1024 -o {S}/o.h5",
    ),
    _c(
        "generate: --onnx with a changed sidecar",
        EXTRA,
        "generate --onnx {S}/sidechanged.onnx --energies 1024 -o {S}/o.h5",
    ),
    _c("generate: ok", EXTRA, "generate {S}/run --energies 1024 -n 10 -o {S}/gen-ok.h5", expect=0),
    _c("export: -o a folder", EXTRA, "export {S}/run -o {S}/afolder"),
    _c("export: opset 5", EXTRA, "export {S}/run --opset 5 -o {S}/o.onnx"),
    _c("export: run without checkpoints", EXTRA, "export {S}/afolder -o {S}/o.onnx"),
    _c("export: a damaged checkpoint", EXTRA, "export {S}/flipped -o {S}/o.onnx"),
    _c(
        "evaluate: reference missing",
        EXTRA,
        "evaluate --reference {S}/nothing.h5 --generated {S}/gen.h5 -o {S}/ev",
    ),
    _c(
        "evaluate: generated of another size",
        EXTRA,
        "evaluate --reference {S}/photons.h5 --generated {S}/pions.h5 -o {S}/ev",
    ),
    _c(
        "evaluate: --set classifier.epochs=abc",
        EXTRA,
        "evaluate --reference {S}/photons.h5 --generated {S}/gen.h5 -o {S}/ev --set classifier.epochs=abc",
    ),
    _c("campaign: file missing", EXTRA, "campaign run {S}/nope.yaml"),
    _c(
        "campaign: unknown key",
        EXTRA,
        "campaign run {S}/campaign.yaml -o {S}/camp2 --set trian.iterations=5",
    ),
    _c("campaign: status of a missing folder", EXTRA, "campaign status {S}/nothing"),
    _c("campaign: report with --set", EXTRA, "campaign report {S}/camp --set x=1"),
    # convert (added to main after the issue): the same checks through the same PathPlan
    _c(
        "convert: -o its input",
        EXTRA,
        "convert {S}/photons.h5 --to hits -o {S}/photons.h5",
        guard=("photons.h5",),
    ),
    _c(
        "convert: -o a link to its input",
        EXTRA,
        "convert {S}/link.h5 --to hits -o {S}/photons.h5",
        guard=("photons.h5",),
    ),
    _c(
        "convert: -o its --binning",
        EXTRA,
        "convert {S}/hits.h5 --binning {S}/b.xml -o {S}/b.xml",
        guard=("b.xml",),
    ),
    _c("convert: -o a folder", EXTRA, "convert {S}/photons.h5 --to hits -o {S}/afolder"),
    _c("convert: -o below a file", EXTRA, "convert {S}/photons.h5 --to hits -o {S}/afile/h.h5"),
    _c("convert: missing input", EXTRA, "convert {S}/nothing.h5 -o {S}/o.h5"),
    _c("convert: no inputs", EXTRA, "convert -o {S}/o.h5"),
    _c("convert: a text file", EXTRA, "convert {S}/notes.txt -o {S}/o.h5"),
    _c("convert: unknown format", EXTRA, "convert {S}/photons.h5 --to root -o {S}/o.h5"),
    _c(
        "convert: to a read-only format",
        EXTRA,
        "convert {S}/photons.h5 --to atlas-csv -o {S}/o.csv",
    ),
    _c(
        "convert: calochallenge again (a rewrite with its geometry)",
        EXTRA,
        "convert {S}/photons.h5 --to calochallenge -o {S}/conv-same.h5",
        expect=0,
    ),
    _c(
        "convert: truncated shower file",
        EXTRA,
        "convert {S}/photons-truncated.h5 --to hits -o {S}/o.h5",
    ),
    _c("convert: strings in the hits' r column", EXTRA, "convert {S}/hits-strings.h5 -o {S}/o.h5"),
    _c("convert: hits with alpha 4", EXTRA, "convert {S}/hits-alpha4.h5 -o {S}/o.h5"),
    _c(
        "convert: eta reversed", EXTRA, "convert {S}/photons.h5 --to hits --eta 0.5 0.2 -o {S}/o.h5"
    ),
    _c(
        "convert: negative --energy",
        EXTRA,
        "convert {S}/photons.h5 --to hits --energy -5 -o {S}/o.h5",
    ),
    _c(
        "convert on a full disk",
        EXTRA,
        "convert {S}/photons.h5 --to hits -o {T}/h.h5",
        tmpfs="100k",
    ),
    _c(
        "convert: showers -> hits ok",
        EXTRA,
        "convert {S}/photons.h5 --to hits -o {S}/conv-hits.h5",
        expect=0,
    ),
    _c("unknown command", EXTRA, "trian"),
    _c("unknown option", EXTRA, "--bogus models"),
    _c("models", EXTRA, "models", expect=0),
]


# ----- the scratch folder -----------------------------------------------------------------------
def _raw_hits(path: Path, **columns: Any) -> None:
    import h5py
    import numpy as np

    g = np.random.default_rng(0)
    data: dict[str, Any] = {
        "incident_energies": np.full((3, 1), 65536.0),
        "hits/event_offsets": np.array([0, 4, 8, 12]),
        "hits/r": g.uniform(0, 100, 12).astype(np.float32),
        "hits/alpha": g.uniform(-3, 3, 12).astype(np.float32),
        "hits/layer": np.full(12, 2, dtype=np.int16),
        "hits/energy": g.exponential(10.0, 12),
    }
    for key, value in columns.items():
        data["incident_energies" if key == "incident_energies" else f"hits/{key}"] = value
    with h5py.File(path, "w") as f:
        for key, value in data.items():
            f[key] = value
        f.attrs.update({"particle": "photon", "eta_min": 0.2, "eta_max": 0.25})


def _flip(path: Path) -> None:
    import struct
    import zipfile

    with zipfile.ZipFile(path) as z:
        rec = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    h = rec.header_offset
    n, e = struct.unpack("<HH", data[h + 26 : h + 30])
    data[h + 30 + n + e + 3] ^= 0x7F
    path.write_bytes(bytes(data))


def build_scratch(s: Path) -> None:
    """Every input the cases use (with the functions of the tree under test)."""
    import h5py
    import numpy as np
    import yaml

    from fastcalogan._config import load
    from fastcalogan.data import write_showers
    from fastcalogan.generate import ExportConfig, export_onnx
    from fastcalogan.geometry import load_geometry, write_binning_xml
    from fastcalogan.simulate import SimulateConfig, simulate
    from fastcalogan.train import TrainConfig, train

    photons = s / "photons.h5"
    simulate(
        SimulateConfig(particle="photon", energies=[1024.0, 8192.0], events=100, hits=True),
        photons,
        hits_path=s / "hits.h5",
    )
    simulate(SimulateConfig(particle="pion", energies=[8192.0], events=20), s / "pions.h5")
    shutil.copy(photons, s / "gen.h5")
    shutil.copy(photons, s / "replaced.h5")
    (s / "link.h5").symlink_to(photons)
    train_yaml = {
        "model": {"latent_dim": 4, "generator_hidden": [8], "critic_hidden": [8]},
        "n_critic": 2,
        "iterations": 4,
        "batch_size": 16,
        "checkpoint_every": 2,
        "log_every": 1,
        "injection_every": 2,
        "device": "cpu",
        "threads": 1,
    }
    (s / "train.yaml").write_text(yaml.safe_dump(train_yaml))
    config = load(s / "train.yaml", TrainConfig)
    for name in ("run", "flipped", "truncated", "truncated2", "alldamaged", "orphan"):
        train(config, photons, s / name)
    _flip(s / "flipped" / "checkpoints" / "ckpt-00000004.pt")
    for name in ("truncated", "truncated2"):
        ckpt = s / name / "checkpoints" / "ckpt-00000004.pt"
        ckpt.write_bytes(ckpt.read_bytes()[:2000])
    for ckpt in (s / "alldamaged" / "checkpoints").iterdir():
        ckpt.write_bytes(b"")
    orphan_data = s / "orphan-data.h5"
    shutil.copy(photons, orphan_data)
    train(config, orphan_data, s / "orphan")
    shutil.rmtree(s / "orphan")
    train(config, orphan_data, s / "orphan")
    orphan_data.unlink()
    for name in ("gen", "changed", "nosidecar", "sidechanged"):
        export_onnx(ExportConfig(verify=False), s / "run", s / f"{name}.onnx")
    data = bytearray((s / "changed.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01
    (s / "changed.onnx").write_bytes(bytes(data))
    (s / "nosidecar.json").unlink()
    side = json.loads((s / "sidechanged.json").read_text())
    side["energy_range"] = [1.0, 1e12]
    (s / "sidechanged.json").write_text(json.dumps(side))
    b = load_geometry("ds1-photons")
    write_binning_xml(b, s / "b.xml")
    write_binning_xml(b.relabel(eta=(1.5, 2.0)), s / "b-eta.xml")
    from fastcalogan.geometry import write_geometry_yaml

    write_geometry_yaml(b, s / "ds1.yaml")
    write_geometry_yaml(b.relabel(particle="pion"), s / "pion-labelled.yaml")
    (s / "vox.yaml").write_text("chunk_events: 5\n")
    (s / "vox-dup.yaml").write_text("chunk_events: 5\nchunk_events: 6\n")
    (s / "schema99.yaml").write_text(yaml.safe_dump({**train_yaml, "schema_version": 99}))
    (s / "duplicate.yaml").write_text(yaml.safe_dump(train_yaml) + "batch_size: 32\n")
    (s / "bad.yaml").write_text("iterations: [1, 2\n")
    (s / "list.yaml").write_text("- 1\n- 2\n")
    (s / "notes.txt").write_text("not a binning\n")
    (s / "afile").write_text("")
    (s / "afolder").mkdir()
    with h5py.File(s / "showers3d.h5", "w") as f:
        f["incident_energies"] = np.ones((4, 1))
        f["showers"] = np.ones((4, 3, 96), np.float32)
    write_showers(s / "empty.h5", np.zeros(0), np.zeros((0, 368)), {"binning": "ds1-photons"})
    _raw_hits(s / "hits-strings.h5", r=np.array([b"12.5"] * 12))
    _raw_hits(s / "hits-alpha4.h5", alpha=np.full(12, 4.0, np.float32))
    _raw_hits(s / "hits-alpha100.h5", alpha=np.full(12, 100.0, np.float32))
    _raw_hits(s / "hits-layer-1.h5", layer=np.full(12, -1, np.int16))
    _raw_hits(s / "hits-layerfloat.h5", layer=np.full(12, 2.5))
    _raw_hits(s / "hits-layer99.h5", layer=np.full(12, 99, np.int16))
    _raw_hits(s / "hits-offsets.h5", event_offsets=np.array([0, 8, 4, 12]))
    _raw_hits(s / "hits-short.h5", event_offsets=np.array([0, 4, 8, 11]))
    _raw_hits(s / "hits-negr.h5", r=np.full(12, -1.0, np.float32))
    _raw_hits(s / "hits-nan.h5", energy=np.full(12, np.nan))
    whole = (s / "hits.h5").read_bytes()
    (s / "hits-truncated.h5").write_bytes(whole[: len(whole) // 2])
    whole = photons.read_bytes()
    (s / "photons-truncated.h5").write_bytes(whole[: len(whole) // 2])
    campaign = {
        "name": "c",
        "particles": ["photon"],
        "eta": [[0.20, 0.25]],
        "data": {"source": "simulate", "energies": [1024, 8192], "events": 30},
        "train": {"iterations": 2, "overrides": {"batch_size": 16, "checkpoint_every": 2}},
        "select": {"overrides": {"events_per_point": 10}},
        "export": {"enabled": False},
        "cluster": {"n_workers": 1, "threads_per_worker": 1, "dashboard_address": ":0"},
    }
    (s / "campaign.yaml").write_text(yaml.safe_dump(campaign))
    first = subprocess.run(
        [*CLI, "campaign", "run", str(s / "campaign.yaml"), "--dir", str(s / "camp")],
        capture_output=True,
        text=True,
        check=False,
    )
    if first.returncode != 0:
        print("note: the first campaign run failed:", first.stderr.strip().splitlines()[-1:])


# ----- running --------------------------------------------------------------------------------------
def _tmpfs_ok() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


@dataclass
class Outcome:
    case: Case
    rc: int
    line: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def run_case(case: Case, s: Path, tmpfs: bool) -> Outcome:
    if case.tmpfs and not tmpfs:
        return Outcome(case, -999, "skipped: no unprivileged tmpfs here", [])
    mnt = Path(tempfile.mkdtemp(prefix="mnt-", dir=s)) if case.tmpfs else None
    args = [a.replace("{S}", str(s)).replace("{T}", str(mnt)) for a in case.args]
    before = {g: _digest(s / g) for g in case.guard}
    holder = None
    if case.hold:
        holder = subprocess.Popen(
            [
                *CLI,
                "train",
                str(s / "train.yaml"),
                "--data",
                str(s / "photons.h5"),
                "-o",
                str(s / case.hold),
                "--set",
                "iterations=1000000",
                "--set",
                "checkpoint_every=1000000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # the first writer is training once its loss table exists
        deadline = time.time() + 120
        while time.time() < deadline and not (s / case.hold / "losses.csv").exists():
            time.sleep(0.2)
        time.sleep(1.0)
    cmd = [*CLI, *args]
    if mnt is not None:
        inner = " ".join(f"'{c}'" for c in cmd)
        mount = f"mount -t tmpfs -o size={case.tmpfs} none {mnt}"
        cmd = ["unshare", "-rm", "sh", "-c", f"{mount} && exec {inner}"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    seconds = time.perf_counter() - t0
    if holder is not None:
        holder.kill()
        holder.wait()
    out = (res.stderr + res.stdout).strip().splitlines()
    errors = [line for line in out if line.startswith("error: ")]
    line = errors[0] if errors else (out[-1] if out else "")
    problems = []
    if res.returncode < 0 or res.returncode > 128:
        problems.append(f"killed by a signal (rc {res.returncode})")
    if "Traceback" in res.stderr:
        problems.append("traceback")
    if res.returncode != case.expect:
        problems.append(f"exit {res.returncode}, expected {case.expect}")
    if res.returncode == 2 and len(errors) != 1:
        problems.append(f"{len(errors)} error lines")
    if any(".tmp" in p.name for p in s.rglob("*.tmp")):
        problems.append("temporary file left")
        for p in s.rglob("*.tmp"):
            p.unlink()
    if re.search(r"/\.[^/ ]+\.\w{8}\.tmp\b", line):
        problems.append("names the temporary file")
    for g, digest in before.items():
        if _digest(s / g) != digest:
            problems.append(f"input {g} changed")
    return Outcome(case, res.returncode, line.replace(str(s), "S")[:400], problems, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="JSON file of the outcomes")
    parser.add_argument("--scratch", type=Path, default=None, help="scratch folder (default: temp)")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once")
    parser.add_argument("--only", default=None, help="run the cases whose name holds this text")
    parser.add_argument(
        "--group", action="append", default=None, help="run this group's cases (repeatable)"
    )
    opts = parser.parse_args()
    s = (opts.scratch or Path(tempfile.mkdtemp(prefix="hostile-"))).resolve()
    s.mkdir(parents=True, exist_ok=True)
    print(f"scratch folder {s}; building inputs ...", flush=True)
    build_scratch(s)
    tmpfs = _tmpfs_ok()
    cases = [c for c in CASES if opts.only is None or opts.only in c.name]
    cases = [c for c in cases if opts.group is None or c.group in opts.group]
    # cases that share a run folder or hold a lock run alone, after the others
    alone = [c for c in cases if c.hold or c.expect == 0 or c.tmpfs]
    parallel = [c for c in cases if c not in alone]
    outcomes: list[Outcome] = []
    with concurrent.futures.ThreadPoolExecutor(max(1, opts.jobs)) as pool:
        outcomes += list(pool.map(lambda c: run_case(c, s, tmpfs), parallel))
    outcomes += [run_case(c, s, tmpfs) for c in alone]
    order = {c.name: i for i, c in enumerate(cases)}
    outcomes.sort(key=lambda o: order[o.case.name])
    print("| group | case | exit | first error line | verdict |")
    print("|---|---|---|---|---|")
    for o in outcomes:
        verdict = "ok" if o.ok else "; ".join(o.problems)
        text = o.line.replace("|", "\\|")
        print(f"| {o.case.group} | {o.case.name} | {o.rc} | {text} | {verdict} |")
    bad = [o for o in outcomes if not o.ok]
    print(f"\n{len(outcomes)} cases, {len(outcomes) - len(bad)} ok, {len(bad)} not", flush=True)
    if opts.out:
        opts.out.write_text(
            json.dumps(
                [
                    {
                        "group": o.case.group,
                        "case": o.case.name,
                        "args": " ".join(o.case.args),
                        "expect": o.case.expect,
                        "rc": o.rc,
                        "line": o.line,
                        "problems": o.problems,
                        "seconds": round(o.seconds, 2),
                    }
                    for o in outcomes
                ],
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
