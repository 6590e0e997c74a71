"""``make eval WORKDIR=<dir>``: the evaluation metrics of a trained run, from its latest
checkpoint, by its dataset's protocol (``ebgan_jax.evaluators``):

- 2-D mixtures: modes covered, % high quality, reverse KL (PacGAN, 2,500 samples);
- digits: the EBGAN paper's I', the Inception-style score, classes covered and the Fréchet
  distance of classifier features (``eval_samples`` samples);
- stacked digits: modes covered out of 1,000 and KL to uniform (26,000 samples);
- TFDS images (MNIST, CelebA): FID and KID of Inception-v3 pool features against as many real
  images (``eval_samples``), with the weights of ``--inception_weights`` (or the run's config,
  or ``$EBGAN_JAX_INCEPTION_WEIGHTS``); skipped with a notice when there are none;
- on each of them, precision and recall (k = 3) and density and coverage (k = 5) on the same
  features (raw coordinates for the mixtures), with k and the set sizes beside them;
- and what the run's algorithm measures itself: the log-likelihoods of the VAE and the BiHM,
  the test error of the Ladder Networks (which draw no samples and skip the above).

Prints one JSON line per member and writes ``<workdir>/eval.json`` (or ``--out DIR/eval.json``:
a read-only run, say).

For a super-resolution run, ``make eval WORKDIR=<dir> HR_DIR=<folder>`` scores the run on a
folder of your own HR images instead: each is cropped to a multiple of the scale, made LR by
the project's operator U, super-resolved, and measured (PSNR-Y, SSIM-Y, consistency, detail
ratio) beside bicubic upsampling; one JSON line per image and their mean, also written to
``eval_hr.json``.
"""

from __future__ import annotations

import argparse
import os
import sys

from ebgan_jax import cli


def evaluate_run(workdir: str, inception_weights: str | None = None,
                 out: str | None = None) -> list[dict]:
  """The metrics of the run in ``workdir``, one row per member, also written to
  ``<out or workdir>/eval.json``."""
  from ebgan_jax import algorithms, data, rundir, trained
  from ebgan_jax.evaluators import Evaluator
  from ebgan_jax.state import member

  out = out or workdir
  if out != workdir:
    os.makedirs(out, exist_ok=True)
  # Checked before the (long) evaluation: metrics that cannot be written are not computed.
  rundir.check_writable(out, rundir.EVAL, "--out (make eval ARGS=\"--out DIR\")")
  if os.path.isdir(rundir.path(out, rundir.EVAL)):
    raise ValueError(f"{rundir.path(out, rundir.EVAL)} is a folder, where {rundir.EVAL} is "
                     "written; move it away or pass --out DIR.")
  run = trained.load(workdir)
  config = run.config
  if inception_weights:
    if not os.path.isfile(os.path.expanduser(inception_weights)):
      raise ValueError(f"Inception weights file {inception_weights} does not exist; see "
                       "docs/eval.md for where to get it.")
    config.inception_weights = inception_weights
  dataset = data.make_dataset(config.data, batch_size=config.batch_size, seed=config.seed)
  algorithm = algorithms.make_algorithm(config)
  labels = run.members or [config.name]
  results, evaluator = [], None
  if algorithm.generative:
    evaluator = Evaluator(config, dataset)
    if evaluator.protocol is None:
      raise ValueError(f"no evaluation protocol for dataset {dataset.name!r} yet.")
    sampler = run.sampler()
    generate = lambda z: sampler(run.state, z)
    # The evaluator takes the members' samples stacked; a single run is a member of one.
    results = evaluator.evaluate(generate if run.members else lambda z: generate(z)[None])
  results = results or [{} for _ in labels]
  networks = (run.generator, run.discriminator)
  rows = []
  for i, (label, r) in enumerate(zip(labels, results)):
    state = member(run.state, i) if run.members else run.state
    rows.append({"member": label, "step": run.step, **r,
                 **algorithm.evaluate(config, networks, state, dataset)})
  if evaluator is not None and evaluator.uses_classifier:
    for row in rows:
      row["classifier_accuracy"] = evaluator.classifier.accuracy
  rundir.write_json_atomically(rundir.path(out, rundir.EVAL), rows)
  return rows


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def evaluate_hr_folder(workdir: str, hr_dir: str, out: str | None = None) -> list[dict]:
  """A super-resolution run's scores on every image of ``hr_dir`` and their mean (the last
  row), written to ``<out or workdir>/eval_hr.json``."""
  import jax.numpy as jnp
  import numpy as np
  from ebgan_jax import pictures, rundir, trained
  from ebgan_jax.evaluators import superres as sr

  if not os.path.isdir(hr_dir):
    raise ValueError(f"HR_DIR {hr_dir} is not a folder of images.")
  files = sorted(f for f in os.listdir(hr_dir) if f.lower().endswith(IMAGE_SUFFIXES))
  if not files:
    raise ValueError(f"HR_DIR {hr_dir} holds no image ({', '.join(IMAGE_SUFFIXES)}).")
  out = out or workdir
  os.makedirs(out, exist_ok=True)
  rundir.check_writable(out, rundir.EVAL_HR, "--out (make eval ARGS=\"--out DIR\")")
  run = trained.load(workdir)
  scale = int(run.config.model.scale)
  rows = []
  for name in files:
    hr, x = sr.degrade(pictures.read_rgb(os.path.join(hr_dir, name), "HR image") / 255.0,
                       scale)
    output = run.super_resolve(sr.to_uint8(x)).astype(np.float32) / 255.0
    bicubic = np.asarray(sr.upsample_bicubic(jnp.asarray(x), scale))
    row = {"image": name, **sr.scores(output, hr, x, scale)}
    row.update({"bicubic_" + k: v for k, v in sr.scores(bicubic, hr, x, scale).items()})
    rows.append(row)
  keys = [k for k in rows[0] if k != "image"]
  rows.append({"image": f"mean of {len(files)}",
               **{k: float(np.mean([r[k] for r in rows])) for k in keys}})
  rundir.write_json_atomically(rundir.path(out, rundir.EVAL_HR), rows)
  return rows


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.evaluate", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--inception_weights", default=None,
                      help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth or its .npz")
  parser.add_argument("--out", default=None,
                      help="folder for the evaluation's JSON (default: the run's workdir)")
  parser.add_argument("--hr_dir", default=None,
                      help="a super-resolution run: score it on this folder of HR images")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  cli.set_cpu_defaults()

  def body() -> None:
    from ebgan_jax import rundir
    rows = (evaluate_hr_folder(args.workdir, args.hr_dir, args.out) if args.hr_dir
            else evaluate_run(args.workdir, args.inception_weights, args.out))
    for row in rows:
      print(rundir.dumps(row))
  return cli.run(body)


if __name__ == "__main__":
  sys.exit(main())
