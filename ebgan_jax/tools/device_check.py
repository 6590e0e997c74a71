"""``make device-check``: what a machine with an accelerator measures, in one command.

  make device-check [DEVICE_OUT=results/device] [ARGS="--minutes 8"]
  python -m ebgan_jax.tools.device_check --out DIR [--minutes 8] [--resume DIR/pacgan_runs.tar.gz]
  python -m ebgan_jax.tools.device_check --out DIR --platform cpu --tiny   # the suite's path

Each part adds its JSON to ``--out``/measured.json as soon as it is measured, and
``log.txt`` keeps every line printed, so a call stopped at its time limit still returns what it
measured (at most 7 files, as a lent machine sends back):

(a) ``equal``: the same 20 updates of ``digits_ebgan_pt`` on one device and on all of
    them, and on the host's CPU and on one accelerator, from the same state and batches
    (matmuls at ``highest`` precision); the largest parameter difference is printed as a
    fraction of how far the 20 updates moved the parameters, with the tolerance it must meet.
(b) ``celeba``: ``celeba_ebgan``'s training images/s (a fixed batch, the loader not
    timed) in float32 and in bfloat16, and the model FLOP utilisation: the FLOPs XLA counts in
    the compiled step, per second, over the device's float32 / bfloat16 matmul rate measured
    here (and over the data-sheet peak for the devices in :data:`PEAK_TFLOPS`).
(c) ``pacgan_program``: updates/s of each of the 10 seeds of the PacGAN ring program on one
    device (``toy_ring_gan``, the members laid out as ``member_layout="auto"`` says, batched on
    an accelerator) and of one run alone, measured in alternating windows.
(d) With the time left of ``--minutes``: rows of PacGAN's Table 1 (``make results
    PROTOCOL=pacgan``) at the published 400,000 updates x 10 seeds, a row started only where
    (c)'s rate says it ends in time. ``pacgan/`` holds the table as that command writes it
    (README.md, curves.json, results.json, curves.png); ``pacgan_runs.tar.gz`` holds the
    finished rows' logs (no checkpoints: small enough to come back from a lent machine). Pass
    it to the next call with ``--resume`` and that call trains the rows not yet there; a row
    is trained whole within one call.

On a machine whose JAX sees no accelerator it stops with one line (exit 2), unless
``--platform cpu``. It reads nothing from the network: the digits are scikit-learn's, the
CelebA batch is random (only the speed is measured) and the 2-D mixtures are generated.
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import time

from ebgan_jax import cli

# Data-sheet dense peaks, TFLOP/s (float32 without tensor cores, bfloat16 with).
PEAK_TFLOPS = {"NVIDIA H100 80GB HBM3": {"float32": 67.0, "bfloat16": 989.0},
               "NVIDIA H200": {"float32": 67.0, "bfloat16": 989.0},
               "NVIDIA A100-SXM4-80GB": {"float32": 19.5, "bfloat16": 312.0},
               "NVIDIA A100-SXM4-40GB": {"float32": 19.5, "bfloat16": 312.0}}

MEASURED = "measured.json"  # parts (a)-(c), by name

# Part (a)'s tolerance: the largest parameter difference over how far training moved them.
EQUAL_TOLERANCE = 1e-2


class Log:
  """Prints a line and appends it to ``<out>/log.txt``; writes a part's JSON at once."""

  def __init__(self, out: str):
    self.out = out
    os.makedirs(out, exist_ok=True)

  def __call__(self, text: str) -> None:
    print(text, flush=True)
    with open(os.path.join(self.out, "log.txt"), "a") as f:
      f.write(text + "\n")

  def write(self, part: str, value: dict) -> None:
    """Adds ``part`` to ``<out>/measured.json`` (rewritten whole, so a call stopped later
    keeps the parts measured before)."""
    from ebgan_jax import rundir
    path = os.path.join(self.out, MEASURED)
    measured = rundir.load(path) if os.path.exists(path) else {}
    measured[part] = value
    rundir.write_json_atomically(path, measured)
    self(f"{part}: {rundir.dumps(value)}")


def accelerators(platform: str | None):
  """The devices the check measures: ``platform``'s, or the default backend's when it is
  not the CPU; None when there is no accelerator and none was asked for."""
  import jax
  if platform:
    return jax.devices(platform)
  devices = jax.devices()
  return None if devices[0].platform == "cpu" else devices


def digits_config(tiny: bool):
  from ebgan_jax import configs
  config = configs.load_config("digits_ebgan_pt")
  values = {"steps_per_dispatch": 1, "num_steps": 20}
  if tiny:
    values.update({"model.size_g": 32, "model.size_d": 16, "model.n_layers_g": 2,
                   "latent_dim": 8, "batch_size": 16})
  return configs.with_values(config, **values)


def train_steps(config, devices, batches, initial):
  """The parameters after ``len(batches)`` updates from ``initial`` on a mesh of ``devices``,
  and the losses of every step."""
  import jax
  import numpy as np
  from ebgan_jax import parallel, step as step_lib
  mesh = parallel.make_mesh(devices)
  state = step_lib.place_state(initial, config, mesh)
  step_fn = step_lib.make_parallel_step(config, mesh)
  losses = []
  for batch in batches:
    state, metrics = step_fn(state, jax.device_put(batch[None], parallel.batch_sharding(mesh, 1)))
    losses.append(float(metrics["loss_d"]))
  params = jax.device_get((state.g.params, state.d.params))
  return [np.asarray(x) for x in jax.tree.leaves(params)], losses


def check_equal(log: Log, devices, tiny: bool) -> dict:
  """Part (a)."""
  import jax
  import numpy as np
  from ebgan_jax import data, step as step_lib
  config = digits_config(tiny)
  shape = data.example_shape(config.data)
  dataset = data.make_dataset(config.data, batch_size=config.batch_size, seed=config.seed)
  batches = [dataset.batch(i) for i in range(config.num_steps)]
  initial = jax.device_get(step_lib.create_state(config, *step_lib.build_models(config, shape),
                                                 shape))
  start = [np.asarray(x) for x in jax.tree.leaves((initial.g.params, initial.d.params))]
  with jax.default_matmul_precision("highest"):
    one, losses_one = train_steps(config, devices[:1], batches, initial)
    runs = {"one device": (one, losses_one),
            f"all {len(devices)} devices": train_steps(config, devices, batches, initial),
            "the host's CPU": train_steps(config, jax.devices("cpu")[:1], batches, initial)}
  moved = max(float(np.max(np.abs(a - b))) for a, b in zip(one, start))
  out = {"config": "digits_ebgan_pt", "steps": config.num_steps, "batch_size": config.batch_size,
         "devices": f"{len(devices)} x {devices[0].device_kind}", "largest_update": moved,
         "tolerance": EQUAL_TOLERANCE, "matmul_precision": "highest", "comparisons": {}}
  for name, (params, losses) in runs.items():
    if name == "one device":
      continue
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(params, one))
    out["comparisons"][f"{name} vs one device"] = {
        "max_param_diff": diff, "fraction_of_update": diff / max(moved, 1e-30),
        "max_loss_diff": float(np.max(np.abs(np.subtract(losses, losses_one)))),
        "equal": diff <= EQUAL_TOLERANCE * moved}
  out["equal"] = all(c["equal"] for c in out["comparisons"].values())
  log.write("equal", out)
  return out


def celeba_rate(log: Log, devices, tiny: bool, windows: int) -> dict:
  """Part (b)."""
  import statistics
  import numpy as np
  from ebgan_jax import configs, data, parallel, step as step_lib
  from ebgan_jax.tools import bench
  out = {"config": "celeba_ebgan", "device": devices[0].device_kind, "devices": len(devices),
         "data": "a fixed random batch (the speed only)"}
  for dtype in ("float32", "bfloat16"):
    config = configs.load_config("celeba_ebgan")
    values = {"compute_dtype": dtype}
    if tiny:
      values.update({"model.features_g": 4, "model.features_d": 4, "batch_size": 4,
                     "data.image_size": 16, "latent_dim": 8, "steps_per_dispatch": 1})
    config = configs.with_values(config, **values)
    shape = data.example_shape(config.data)
    k = config.steps_per_dispatch
    state = step_lib.create_state(config, *step_lib.build_models(config, shape), shape)
    host = np.random.default_rng(0).uniform(-1, 1, (k, config.batch_size) + shape)
    timing = bench.time_step(config, parallel.make_mesh(devices), state, host.astype(np.float32),
                             windows, 2 * k if tiny else 40)
    rate = statistics.median(timing.rates)
    achieved = rate / config.batch_size * timing.flops_per_step / 1e12  # TFLOP/s
    measured = bench.matmul_rate(256 if tiny else 8192, dtype=dtype,
                                 device=devices[0]) / 1e3 * len(devices)
    row = {"images_per_sec": round(rate, 1), "windows": [round(r, 1) for r in timing.rates],
           "batch_size": config.batch_size, "compile_s": round(timing.compile_s, 2),
           "tflop_per_step": timing.flops_per_step / 1e12, "tflop_per_sec": achieved,
           "matmul_tflop_per_sec": measured, "mfu_of_measured_matmul": achieved / measured}
    peak = PEAK_TFLOPS.get(devices[0].device_kind, {}).get(dtype)
    if peak:
      row.update({"datasheet_peak_tflop_per_sec": peak * len(devices),
                  "mfu_of_datasheet_peak": achieved / (peak * len(devices))})
    out[dtype] = row
    log(f"celeba_ebgan {dtype}: {row['images_per_sec']} images/s, "
        f"{row['mfu_of_measured_matmul']:.1%} of the measured matmul rate")
  log.write("celeba", out)
  return out


# The PacGAN networks and data of the suite's tiny path, parts (c) and (d).
TINY_PACGAN = {"model.size_g": 8, "model.size_d": 8, "model.n_layers_g": 1,
               "model.n_layers_d": 1, "batch_size": 4, "data.train_points": 64}


def pacgan_config(tiny: bool):
  from ebgan_jax import configs
  config = configs.load_config("toy_ring_gan")
  return configs.with_values(config, **TINY_PACGAN) if tiny else config


def pacgan_program(log: Log, devices, tiny: bool, windows: int) -> dict:
  """Part (c)."""
  import copy
  import numpy as np
  from ebgan_jax import configs, data, parallel, step as step_lib
  from ebgan_jax.state import stack_states
  from ebgan_jax.tools import bench
  config = pacgan_config(tiny)
  n = 2 if tiny else 10
  rows = config.batch_size * config.pack * config.d_steps
  streams = [data.make_dataset(config.data, batch_size=rows, seed=s) for s in range(n)]
  shape = streams[0].shape
  networks = step_lib.build_models(config, shape)
  state = stack_states([step_lib.create_state(configs.with_values(copy.deepcopy(config), seed=s),
                                              *networks, shape) for s in range(n)])
  k = config.steps_per_dispatch
  host = np.stack([np.stack([s.batch(i) for i in range(k)]) for s in streams])
  # One device: ten seeds of 2-D MLPs have nothing to split over several.
  out = bench.members_rate(config, state, host, parallel.make_mesh(devices[:1]), n, windows,
                           2 * k if tiny else 200 * k, streams[0].name)
  log.write("pacgan_program", out)
  return out


def pacgan_rows(log: Log, args, rate: float, deadline: float) -> list[str]:
  """Part (d): the rows that fit before ``deadline`` (``rate``: each seed's updates/s)."""
  import jax
  from ebgan_jax.studies import pacgan
  workdir = os.path.join(args.workdir, "pacgan")
  if args.resume:
    with tarfile.open(args.resume) as tar:
      tar.extractall(args.workdir, filter="data")
  steps = 4 if args.tiny else None
  seeds = 2 if args.tiny else 10
  overrides = [f"{key}={value}" for key, value in TINY_PACGAN.items()] if args.tiny else []
  trained = []
  if 100 % jax.device_count():  # the runner splits PacGAN's batch of 100 over every device
    log(f"pacgan rows: a batch of 100 does not split over {jax.device_count()} devices; run "
        "them with CUDA_VISIBLE_DEVICES naming one device")
    return trained
  for row in args.rows.split(","):
    dataset, _, model = row.partition("/")
    if dataset not in pacgan.PROTOCOLS or model not in pacgan.MODELS:
      raise ValueError(f"--rows takes dataset/model pairs such as ring/GAN, got {row!r}; "
                       f"datasets {', '.join(pacgan.PROTOCOLS)}, models {', '.join(pacgan.MODELS)}.")
    budget = steps or pacgan.PROTOCOLS[dataset].budget
    where = os.path.join(workdir, dataset, model)
    if os.path.exists(os.path.join(where, "sweep_results.json")):
      continue  # finished in an earlier call
    pack = pacgan.MODELS[model].get("pack", 1)
    # A packed discriminator reads pack x the rows; evaluations add about a tenth.
    needed = budget / max(rate, 1e-9) * (1 + 0.5 * (pack - 1)) * 1.1
    left = deadline - time.time()
    if needed > left:
      log(f"pacgan {dataset} {model}: about {needed / 60:.1f} min at the measured rate, "
          f"{left / 60:.1f} min left; not started")
      continue
    log(f"pacgan {dataset} {model}: {budget:,} updates x {seeds} seeds, about "
        f"{needed / 60:.1f} min")
    pacgan.run([dataset], [model], seeds, steps, workdir, overrides, progress=False)
    trained.append(f"{dataset}/{model}")
  table = pacgan.collect(workdir, os.path.join(args.out, "pacgan"))
  if table:
    pacgan.write_report(table, os.path.join(args.out, "pacgan"))
  # The finished rows' logs, without checkpoints, for the next call's --resume.
  with tarfile.open(os.path.join(args.out, "pacgan_runs.tar.gz"), "w:gz") as tar:
    for root, dirs, files in os.walk(workdir):
      dirs[:] = [d for d in dirs if d != "checkpoints"]
      for name in files:
        if name.endswith((".json", ".jsonl", ".md")):
          path = os.path.join(root, name)
          tar.add(path, os.path.relpath(path, args.workdir))
  log(f"pacgan rows trained in this call: {', '.join(trained) or 'none'}")
  return trained


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.tools.device_check",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--out", default="results/device")
  parser.add_argument("--workdir", default="runs/device_check")
  parser.add_argument("--minutes", type=float, default=8.0,
                      help="the whole command's time; part (d) uses what (a)-(c) leave")
  parser.add_argument("--platform", default=None,
                      help="measure this JAX platform's devices (cpu: the suite's path)")
  parser.add_argument("--tiny", action="store_true", help="tiny sizes (the suite's path)")
  parser.add_argument("--windows", type=int, default=5)
  parser.add_argument("--parts", default="equal,celeba,pacgan_program,pacgan_rows")
  parser.add_argument("--rows", default=",".join(f"{d}/{m}" for d in ("ring", "grid")
                                                  for m in ("GAN", "PacGAN2", "PacGAN3", "PacGAN4")),
                      help="part (d)'s rows of Table 1, in order, as dataset/model")
  parser.add_argument("--resume", default=None,
                      help="an earlier call's pacgan_runs.tar.gz: its finished rows are kept")
  args = parser.parse_args(argv)
  return cli.run(lambda: _main(args))


def _main(args) -> int:
  start = time.time()
  deadline = start + 60 * args.minutes
  parts = cli.parts(args.parts, ("equal", "celeba", "pacgan_program", "pacgan_rows"))
  if args.resume and not os.path.isfile(args.resume):
    raise ValueError(f"--resume {args.resume} is not a file; pass the pacgan_runs.tar.gz an "
                     "earlier call wrote.")
  devices = accelerators(args.platform)
  if devices is None:
    import jax
    raise ValueError(f"make device-check needs an accelerator, and JAX {jax.__version__} sees "
                     f"only {jax.device_count()} CPU device(s) here; run it on a GPU or TPU "
                     "machine (or pass ARGS=\"--platform cpu --tiny\" for the CPU path).")
  log = Log(args.out)
  import jax
  log(f"device-check: {len(devices)} x {devices[0].device_kind} ({devices[0].platform}), "
      f"JAX {jax.__version__}, {args.minutes:g} minutes")
  results = {}
  if "equal" in parts:
    results["equal"] = check_equal(log, devices, args.tiny)
  if "celeba" in parts:
    results["celeba"] = celeba_rate(log, devices, args.tiny, args.windows)
  if "pacgan_program" in parts or "pacgan_rows" in parts:
    results["pacgan_program"] = pacgan_program(log, devices, args.tiny, args.windows)
  if "pacgan_rows" in parts:
    pacgan_rows(log, args, results["pacgan_program"]["updates_per_sec"], deadline)
  log(f"device-check: done in {time.time() - start:.0f} s; the files are in {args.out}")
  return cli.EXIT_OK


if __name__ == "__main__":
  sys.exit(main())
