"""``make sample WORKDIR=<dir> [N=64]``: samples from the latest checkpoint of a run.

Writes ``<workdir>/generated_step<step>_n<N>.png`` (a grid) and ``.npz`` (the raw samples).
"""

from __future__ import annotations

import argparse
import os
import sys

from ebgan_jax.main import set_cpu_defaults


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.sample", description=__doc__)
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--n", type=int, default=64)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.n <= 0:
    print(f"error: --n must be positive, got {args.n}.", file=sys.stderr)
    return 2
  set_cpu_defaults()
  import numpy as np
  from ebgan_jax import outputs, trained
  try:
    run = trained.load(args.workdir)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  samples = run.sample(args.n, args.seed)
  stem = os.path.join(args.workdir, f"generated_step{run.step}_n{args.n}")
  np.savez_compressed(stem + ".npz", samples=samples, step=run.step, seed=args.seed,
                      members=np.array(run.members or []))
  if run.members is not None and samples.ndim == 5:
    outputs.save_labelled_rows(stem + ".png", list(samples), run.members)
  elif samples.ndim == 4:
    outputs.save_image_grid(stem + ".png", samples)
  else:
    points = samples.reshape(-1, samples.shape[-1])
    outputs.save_scatter(stem + ".png", points, f"{run.config.name} step {run.step}")
  print(f"wrote {stem}.png and {stem}.npz ({args.n} samples from step {run.step})")
  return 0


if __name__ == "__main__":
  sys.exit(main())
