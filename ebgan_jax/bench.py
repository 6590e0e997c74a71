"""``make bench``: training throughput of one config's jitted step, as one JSON line.

  python -m ebgan_jax.bench [--config pytorch_gan_ebgan] [--windows 5] [--steps 20]
                            [--config.steps_per_dispatch=10] [--config.model.upsample=resize]

Images per second is the median over timed windows after compilation; each window runs
``--steps`` training steps on a fixed batch (data loading is not timed) and ends with a
device sync. Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

from ebgan_jax.main import set_cpu_defaults


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.bench")
  parser.add_argument("--config", default="pytorch_gan_ebgan")
  parser.add_argument("--windows", type=int, default=5)
  parser.add_argument("--steps", type=int, default=20, help="training steps per timed window")
  args = parser.parse_args([a for a in argv if not a.startswith("--config.")])
  overrides = [a[len("--config."):] for a in argv if a.startswith("--config.")]
  set_cpu_defaults()

  import jax
  import numpy as np
  from ebgan_jax import configs, data, models, train

  config = configs.load_config(args.config)
  configs.apply_overrides(config, overrides)
  configs.validate(config)
  k = config.steps_per_dispatch
  if args.steps % k:
    raise SystemExit(f"error: --steps={args.steps} must be a multiple of "
                     f"steps_per_dispatch={k}.")
  dataset = data.make_dataset(config.data, batch_size=config.batch_size * config.d_steps,
                              seed=config.seed)
  generator, discriminator = models.make_models(config.model, dataset.shape)
  state = train.create_state(config, generator, discriminator, dataset.shape)
  step_fn = jax.jit(train.make_multi_step(config), donate_argnums=0)
  batches = jax.device_put(np.stack([dataset.batch(s) for s in range(k)]))

  t0 = time.perf_counter()
  state, metrics = step_fn(state, batches)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - t0

  rates = []
  for _ in range(args.windows):
    t0 = time.perf_counter()
    for _ in range(args.steps // k):
      state, metrics = step_fn(state, batches)
    jax.block_until_ready(metrics)
    rates.append(args.steps * config.batch_size / (time.perf_counter() - t0))

  print(json.dumps({
      "config": config.name, "batch_size": config.batch_size, "steps_per_dispatch": k,
      "upsample": config.model.upsample, "images_per_sec": round(statistics.median(rates), 1),
      "images_per_sec_windows": [round(r, 1) for r in rates],
      "compile_s": round(compile_s, 2),
      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
      "device": f"{jax.device_count()} x {jax.devices()[0].device_kind}",
      "jax": jax.__version__, "xla_flags": os.environ.get("XLA_FLAGS", ""),
  }))
  return 0


if __name__ == "__main__":
  sys.exit(main())
