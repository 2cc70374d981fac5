"""Python quick start: load a generator, mixed energies in one batch, evaluate, plot a shower.

Run it after ``make demo``, which leaves a trained run and a reference sample in
``demo-output/``: ``python examples/quickstart.py``. The code below is the README's "Python
quick start" block, character for character (``tests/test_quickstart.py`` checks this and
runs it on a tiny run).
"""

from pathlib import Path

import matplotlib.pyplot as plt

from fastcalogan.evaluate import EvaluateConfig, evaluate
from fastcalogan.generate import GenerateConfig, Simulator, generate

# a generator in two lines: a run folder (its selected checkpoint) or a checkpoint file
sim = Simulator.load("demo-output/run")
showers = sim.simulate([1024, 65536, 65536, 4194304], rng=0)  # mixed energies, one batch
print(sim)  # particle, |eta| slice, voxels, trained energy range
print(showers.shape)  # (4, 368): MeV per voxel, in the CaloChallenge voxel order
print(showers.sum(axis=1) / [1024, 65536, 65536, 4194304])  # E_tot / E_inc per shower

# evaluate: one shower per reference event (its energy), then the metrics against it; the
# fast ones here (leave `metrics` out for all of them, the classifier test included)
out = Path("quickstart-output")
reference = "demo-output/reference.h5"
generated = generate(GenerateConfig(like=reference), "demo-output/run", out / "generated.h5")
config = EvaluateConfig(metrics=("chi2", "response"))
result = evaluate(config, reference, generated.path, out / "evaluation")
print(f"chi2/NDF of E_tot: {result.headline['chi2_ndf_e_tot']:.2f} ({result.metrics_path})")

# plot one shower: each layer's voxels as an (alpha, r) image
geometry = sim.binning
fig, axes = plt.subplots(1, geometry.n_layers, figsize=(2.5 * geometry.n_layers, 2.5))
for ax, layer_id, name in zip(axes, geometry.layer_ids, geometry.layer_names, strict=True):
    image = geometry.layer_images(showers[1], layer_id)  # the first 65 GeV shower
    ax.imshow(image, origin="lower", aspect="auto", cmap="viridis")
    ax.set(title=name, xlabel="r bin", ylabel="alpha bin")
fig.tight_layout()
fig.savefig(out / "shower.png")
print(f"wrote {out / 'shower.png'}")
