"""``make sample WORKDIR=<dir> [N=64]``: samples from the latest checkpoint of a run.

Writes ``<workdir>/generated_step<step>_n<N>.png`` (a grid) and ``.npz`` (the raw samples),
or into ``--out DIR`` (a read-only run, say).

For a super-resolution run, ``make sample WORKDIR=<dir> INPUT=low.png OUTPUT=high.png``
super-resolves an RGB image file of any size instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from ebgan_jax import cli


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.sample", description=__doc__)
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--n", type=int, default=64)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--out", default=None,
                      help="folder for the .png and .npz (default: the run's workdir)")
  parser.add_argument("--input", default=None,
                      help="an RGB image file to super-resolve (a super-resolution run)")
  parser.add_argument("--output", default=None, help="where --input's result is written (.png)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.input is not None or args.output is not None:
    return _super_resolve(args)
  if args.n <= 0:
    return cli.error(f"--n must be positive, got {args.n}.")
  cli.set_cpu_defaults()
  import numpy as np
  from ebgan_jax import configs, pictures, rundir, trained

  out = args.out or args.workdir

  def body() -> None:
    if not 0 <= args.seed < configs.SEED_LIMIT:
      raise ValueError(f"--seed must be in [0, {configs.SEED_LIMIT}), the range of jax.random's "
                       f"seeds; got {args.seed}.")
    if args.out:
      os.makedirs(out, exist_ok=True)
    # Checked before anything is computed: a result that cannot be written is not drawn.
    rundir.check_writable(out, "the samples", "--out (make sample ARGS=\"--out DIR\")")
    run = trained.load(args.workdir)
    samples = run.sample(args.n, args.seed)
    stem = rundir.generated(out, run.step, args.n)
    np.savez_compressed(stem + ".npz", samples=samples, step=run.step, seed=args.seed,
                        members=np.array(run.members or []))
    if run.members is not None and samples.ndim == 5:
      pictures.save_labelled_rows(stem + ".png", list(samples), run.members)
    elif samples.ndim == 4:
      pictures.save_image_grid(stem + ".png", samples)
    else:
      points = samples.reshape(-1, samples.shape[-1])
      pictures.save_scatter(stem + ".png", points, f"{run.config.name} step {run.step}")
    print(f"wrote {stem}.png and {stem}.npz ({args.n} samples from step {run.step})")
  return cli.run(body)


def _super_resolve(args) -> int:
  if not args.input or not args.output:
    return cli.error("super-resolution takes both --input and --output (make sample "
                     "WORKDIR=... INPUT=low.png OUTPUT=high.png).")
  cli.set_cpu_defaults()
  from PIL import Image
  from ebgan_jax import pictures, trained

  def body() -> None:
    lr = pictures.read_rgb(args.input)
    if os.path.exists(args.output):
      raise ValueError(f"--output {args.output} exists; give a new path (nothing is "
                       "overwritten).")
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
      raise ValueError(f"--output's folder {folder} does not exist.")
    run = trained.load(args.workdir)
    hr = run.super_resolve(lr)
    Image.fromarray(hr).save(args.output)
    print(f"wrote {args.output} ({hr.shape[1]}x{hr.shape[0]} from {lr.shape[1]}x{lr.shape[0]}, "
          f"step {run.step})")
  return cli.run(body)


if __name__ == "__main__":
  sys.exit(main())
