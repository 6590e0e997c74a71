"""``make bench``: training throughput of one config's jitted step, as one JSON line.

  python -m ebgan_jax.tools.bench [--config pytorch_gan_ebgan] [--windows 5] [--steps 20]
                            [--config.steps_per_dispatch=10] [--config.model.upsample=resize]

Images per second is the median over timed windows after compilation; each window runs
``--steps`` training steps on a fixed batch (data loading is not timed) and ends with a
device sync. Peak memory is the process's maximum resident set size. ``gflop_per_sec`` is the
rate of the floating-point operations XLA counts in the compiled step, and
``fraction_of_matmul_peak`` its ratio to a 2048x2048 float32 matmul on the same device.

``--end_to_end`` also times the same windows fed by the run's input pipeline
(:mod:`ebgan_jax.data.loader`: worker processes, prefetch, device put, as ``make train`` reads), and
the loader alone for each worker count of ``--workers``; the JSON line then holds
``end_to_end_images_per_sec``, its ratio to the step-only figure and
``loader_images_per_sec`` by worker count. For a TFDS dataset without the real data, write the
synthetic one first (``make synthetic-celeba``) and pass
``--config.data.name=synthetic_celeb_a``.

``--members N`` times the program a sweep trains N seeds with (``config.seed``, ``+1``, ...;
the member layout as ``config.member_layout`` says), each window followed by one of a run
alone: ``updates_per_sec`` is each member's updates per second, ``sequential_updates_per_sec``
what each of N runs one after another would get, and ``speedup_vs_sequential`` their ratio.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import re
import resource
import statistics
import sys
import time
from typing import Any

from ebgan_jax.configs import split_overrides
from ebgan_jax.cli import set_cpu_defaults


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.tools.bench")
  parser.add_argument("--config", default="pytorch_gan_ebgan")
  parser.add_argument("--windows", type=int, default=5)
  parser.add_argument("--steps", type=int, default=20, help="training steps per timed window")
  parser.add_argument("--members", type=int, default=0,
                      help="time the sweep's program training this many seeds at once (0: one "
                           "run's program)")
  parser.add_argument("--checkpoint", action="store_true",
                      help="time saving and restoring the config's state instead")
  parser.add_argument("--end_to_end", action="store_true",
                      help="also time training fed by the input pipeline, and the loader alone")
  parser.add_argument("--profile", default="",
                      help="also trace one window with jax.profiler into this folder and print "
                           "where the step's time goes, by op family")
  parser.add_argument("--workers", default="1,2,4",
                      help="worker counts to time the loader alone with (--end_to_end)")
  rest, overrides = split_overrides(argv)
  args = parser.parse_args(rest)
  set_cpu_defaults()

  import jax
  import numpy as np
  from ebgan_jax import configs, data, parallel, step as step_lib
  from ebgan_jax.state import stack_states

  config = configs.load_config(args.config)
  configs.apply_overrides(config, overrides)
  configs.validate(config)
  k = config.steps_per_dispatch
  if args.steps % k:
    raise SystemExit(f"error: --steps={args.steps} must be a multiple of "
                     f"steps_per_dispatch={k}.")
  if args.checkpoint:
    return _bench_checkpoint(config, args.windows)
  if args.members < 0 or (args.members and args.end_to_end):
    raise SystemExit(f"error: --members takes a count of seeds >= 1 (0: one run's program) and "
                     f"does not combine with --end_to_end, got --members={args.members}.")
  rows = config.batch_size * config.pack * config.d_steps
  dataset = data.make_dataset(config.data, batch_size=rows, seed=config.seed)
  generator, discriminator = step_lib.build_models(config, dataset.shape)
  if config.batch_size % jax.device_count():
    raise SystemExit(f"error: batch_size={config.batch_size} does not divide over "
                     f"{jax.device_count()} devices.")
  mesh = parallel.make_mesh()
  n = args.members or 1
  if args.members:  # the sweep's program: seeds seed, seed + 1, ... stacked on a member axis
    seeds = [config.seed + i for i in range(n)]
    state = stack_states([step_lib.create_state(configs.with_values(copy.deepcopy(config),
                                                                     seed=s),
                                                generator, discriminator, dataset.shape)
                          for s in seeds])
    streams = [dataset] + [data.make_dataset(config.data, batch_size=rows, seed=s)
                           for s in seeds[1:]]  # one data stream per seed, as in training
    host = np.stack([np.stack([stream.batch(i) for i in range(k)]) for stream in streams])
  else:
    state = step_lib.create_state(config, generator, discriminator, dataset.shape)
    host = np.stack([dataset.batch(s) for s in range(k)])
  if args.members:
    print(json.dumps(members_rate(config, state, host, mesh, n, args.windows, args.steps,
                                  dataset.name)))
    return 0
  timing = time_step(config, mesh, state, host, args.windows, args.steps)
  step_fn, state, batches = timing.step_fn, timing.state, timing.batches
  rates, compile_s, flops = timing.rates, timing.compile_s, timing.flops_per_step

  rate = statistics.median(rates)
  extra = {}
  if args.profile:
    extra["time_by_op_family"] = _profile(step_fn, state, batches, args.steps // k,
                                          args.profile)
  if flops > 0:
    peak = matmul_rate()
    achieved = rate / config.batch_size * flops / 1e9
    extra.update({"gflop_per_step": round(flops / 1e9, 2), "gflop_per_sec": round(achieved, 1),
                  "matmul_peak_gflop_per_sec": round(peak, 1),
                  "fraction_of_matmul_peak": round(achieved / peak, 3)})
  if args.end_to_end:
    try:
      worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
      raise SystemExit(f"error: --workers takes comma-separated counts, got {args.workers!r}.")
    extra.update(_bench_end_to_end(config, dataset, mesh, step_fn, state, args.windows,
                                   args.steps, worker_counts))
    extra["end_to_end_fraction"] = round(
        extra["end_to_end_images_per_sec"] / statistics.median(rates), 3)

  print(json.dumps({
      "config": config.name, "batch_size": config.batch_size, "steps_per_dispatch": k,
      "upsample": config.model.upsample, "images_per_sec": round(statistics.median(rates), 1),
      "images_per_sec_windows": [round(r, 1) for r in rates],
      "updates_per_sec": round(rate / config.batch_size, 2),
      "compile_s": round(compile_s, 2),
      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
      "device": f"{jax.device_count()} x {jax.devices()[0].device_kind}",
      "jax": jax.__version__, "xla_flags": os.environ.get("XLA_FLAGS", ""), **extra,
  }))
  return 0


@dataclasses.dataclass
class StepTiming:
  """What :func:`time_step` measured, and the compiled step with its state and batches."""
  rates: list[float]  # images/s of each window
  compile_s: float  # compiling and running the first dispatch
  flops_per_step: float  # as XLA counts them in the compiled dispatch, over its steps
  step_fn: Any
  state: Any
  batches: Any


def time_step(config, mesh, state, host, windows: int, steps: int) -> StepTiming:
  """One run's jitted step of ``config`` on ``mesh`` from ``state``, timed over ``windows``
  windows of ``steps`` steps on the fixed dispatch ``host`` (``[k, B, ...]``, the loader not
  timed), each window ending with a device sync."""
  import jax
  from ebgan_jax import parallel, step as step_lib
  k = config.steps_per_dispatch
  state = step_lib.place_state(state, config, mesh)
  batches = jax.device_put(host, parallel.batch_sharding(mesh, 1))
  t0 = time.perf_counter()
  compiled = step_lib.make_parallel_step(config, mesh).lower(state, batches).compile()
  state, metrics = compiled(state, batches)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - t0
  # The floating-point operations XLA counts in the compiled dispatch (what runs, after
  # rewrites such as the sub-pixel convolutions, not the model as written).
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float((cost or {}).get("flops", 0.0)) / k
  rates = []
  for _ in range(windows):
    t0 = time.perf_counter()
    for _ in range(steps // k):
      state, metrics = compiled(state, batches)
    jax.block_until_ready(metrics)
    rates.append(steps * config.batch_size / (time.perf_counter() - t0))
  return StepTiming(rates, compile_s, flops, compiled, state, batches)


def members_rate(config, state, host, mesh, n: int, windows: int, steps: int, data_name: str
                 ) -> dict:
  """``--members N``: the sweep's program for N seeds (:class:`step.MemberProgram`, in its
  rounds), each window followed by a window of one run alone, so that the two rates come
  from the same minutes; ``speedup_vs_sequential`` is the sweep's updates per second over
  those of the N runs one after another (the runs' compilations not counted)."""
  import jax
  from ebgan_jax import parallel, step as step_lib
  from ebgan_jax.state import members_slice

  k = config.steps_per_dispatch
  sharding = parallel.batch_sharding(mesh, 2)
  program = step_lib.MemberProgram(config, mesh, members=n)
  held = program.hold(state)
  batches = program.put(sharding)(host)
  alone = step_lib.make_parallel_step(config, mesh, members=1)
  alone_state = step_lib.place_state(members_slice(state, 0), config, mesh, 1)
  alone_batches = parallel.global_batch(host[:1], sharding, 2)

  t0 = time.perf_counter()
  held, metrics = program.run(held, [batches])
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - t0
  alone_state, metrics = alone(alone_state, alone_batches)
  jax.block_until_ready(metrics)

  sweep_rates, alone_rates = [], []
  dispatches = steps // k
  for _ in range(windows):
    t0 = time.perf_counter()
    done = 0
    while done < dispatches:
      rnd = min(program.round, dispatches - done)
      held, metrics = program.run(held, [batches] * rnd)
      done += rnd
    jax.block_until_ready(metrics)
    sweep_rates.append(steps * n / (time.perf_counter() - t0))
    t0 = time.perf_counter()
    for _ in range(dispatches):
      alone_state, metrics = alone(alone_state, alone_batches)
    jax.block_until_ready(metrics)
    alone_rates.append(steps / (time.perf_counter() - t0))
  rate, rate_alone = statistics.median(sweep_rates), statistics.median(alone_rates)
  return {
      "config": config.name, "batch_size": config.batch_size, "steps_per_dispatch": k,
      "members": n, "member_layout": program.layout,
      "images_per_sec": round(rate * config.batch_size, 1),
      "updates_per_sec": round(rate / n, 2),
      "sequential_updates_per_sec": round(rate_alone / n, 2),
      "speedup_vs_sequential": round(rate / rate_alone, 3),
      "updates_per_sec_windows": [round(r / n, 2) for r in sweep_rates],
      "sequential_updates_per_sec_windows": [round(r / n, 2) for r in alone_rates],
      "compile_s": round(compile_s, 2),
      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
      "device": f"{mesh.size} x {mesh.devices.flat[0].device_kind}", "jax": jax.__version__,
      "data": data_name}


# Words of the layout ops, which move data without arithmetic.
_LAYOUT_WORDS = {"copy", "transpose", "bitcast", "concatenate", "slice", "dynamic", "pad",
                 "broadcast", "reshape", "wrapped", "fusion", "update"}


def op_family(name: str) -> str | None:
  """The family of an XLA:CPU op's trace event (``convolution.3``, ``dot.5``,
  ``wrapped_reduce-window.2``, ``multiply_add_fusion.7``, ...); None for the runtime's own
  events (``ThunkExecutor::Execute``, Python frames)."""
  base = re.sub(r"(\.\d+)+$", "", name)
  if not re.fullmatch(r"[a-z][a-z_\-]*", base):
    return None
  if "reduce-window" in base:
    return "reduce-window (XLA's tree reductions)"
  if "convolution" in base or base.startswith("conv_general"):
    return "convolution"
  if base.startswith("dot") or "gemm" in base or "matmul" in base:
    return "matmul (dot)"
  if "reduce" in base:
    return "reductions"
  words = set(re.split(r"[_\-]", base))
  if words <= _LAYOUT_WORDS:
    return "copies and layout"
  if "fusion" in words:
    return "elementwise fusions"
  return "other ops"


def _profile(step_fn, state, batches, dispatches: int, folder: str) -> dict:
  """The share of the step's traced op time by family (:func:`op_family`) over one window of
  ``dispatches`` dispatches, from ``jax.profiler``'s Perfetto trace (written to ``folder``).
  The ops of the two cores' threads are summed, so the shares are of the work, not of the
  wall time."""
  import collections
  import glob
  import gzip
  import jax
  jax.profiler.start_trace(folder, create_perfetto_trace=True)
  for _ in range(dispatches):
    state, metrics = step_fn(state, batches)
  jax.block_until_ready(metrics)
  jax.profiler.stop_trace()
  path = max(glob.glob(os.path.join(folder, "**", "*.trace.json.gz"), recursive=True),
             key=os.path.getmtime)
  with gzip.open(path) as f:
    trace = json.load(f)
  events = trace["traceEvents"] if isinstance(trace, dict) else trace
  spent = collections.Counter()
  for event in events:
    family = op_family(event.get("name", "")) if event.get("ph") == "X" else None
    if family and event.get("dur"):
      spent[family] += event["dur"]
  total = sum(spent.values()) or 1
  return {family: round(us / total, 3) for family, us in spent.most_common()}


def matmul_rate(n: int = 2048, repeats: int = 7, dtype: str = "float32", device=None
                ) -> float:
  """The rate of an ``n`` x ``n`` matmul in ``dtype`` on ``device`` (default: the default
  device), the median of ``repeats``, GFLOP/s: the ceiling that the step's rate is compared
  with."""
  import jax
  import jax.numpy as jnp
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.dtype(dtype))
  if device is not None:
    a = jax.device_put(a, device)
  matmul = jax.jit(lambda x: x @ x)
  jax.block_until_ready(matmul(a))
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(matmul(a))
    times.append(time.perf_counter() - t0)
  return 2 * n ** 3 / statistics.median(times) / 1e9


def _bench_end_to_end(config, dataset, mesh, step_fn, state, windows: int, steps: int,
                      worker_counts: list[int]) -> dict:
  """Images/s of training fed by the input pipeline (median over windows, the first dispatch
  — worker start-up — untimed), and of the loader alone by worker count."""
  import jax
  from ebgan_jax import parallel
  from ebgan_jax.data import loader

  k, batch = config.steps_per_dispatch, config.batch_size
  rows = parallel.process_slice(batch * config.d_steps)
  sharding = parallel.batch_sharding(mesh, 1)
  per_window = steps // k
  feed = loader.feed(config.data, [(config.data, config.seed)], {config.seed: dataset},
                     batch * config.d_steps, k, rows,
                     range(0, (1 + windows * per_window) * k, k),
                     lambda local: parallel.global_batch(local[0], sharding, 1))
  rates = []
  with feed:
    it = iter(feed)
    _, first = next(it)
    state, metrics = step_fn(state, first)
    jax.block_until_ready(metrics)
    for _ in range(windows):
      t0 = time.perf_counter()
      for _ in range(per_window):
        _, batches = next(it)
        state, metrics = step_fn(state, batches)
      jax.block_until_ready(metrics)
      rates.append(steps * batch / (time.perf_counter() - t0))

  # The loader alone, by worker count: the same batches as the run's, without the step.
  dispatch = loader.DispatchBatches([(config.data, config.seed)], batch * config.d_steps, k, rows,
                                    {config.seed: dataset})
  loader_rates = {}
  n = max(8, windows * per_window)
  for w in worker_counts:
    host = loader.host_batches(dispatch, range(0, (n + 1) * k, k), w)
    next(host)  # start-up untimed
    t0 = time.perf_counter()
    for _ in range(n):
      next(host)
    loader_rates[str(w)] = round(n * k * batch * config.d_steps / (time.perf_counter() - t0), 1)
    for _ in host:  # run to its end: the workers stop with nothing left in flight
      pass
  return {"data": dataset.name, "workers": loader.num_workers(config.data, dataset),
          "prefetch": config.data.prefetch,
          "end_to_end_images_per_sec": round(statistics.median(rates), 1),
          "end_to_end_windows": [round(r, 1) for r in rates],
          "loader_images_per_sec": loader_rates}


def _bench_checkpoint(config, repeats: int) -> int:
  """Median seconds to save (synchronously) and restore the state of ``config``."""
  import tempfile

  import jax
  import numpy as np
  from ebgan_jax import checkpoint, data, step as step_lib

  shape = data.example_shape(config.data)
  generator, discriminator = step_lib.build_models(config, shape)
  state = step_lib.create_state(config, generator, discriminator, shape)
  n_bytes = sum(np.asarray(x).nbytes for x in jax.tree.leaves(state))
  save_s, restore_s = [], []
  with tempfile.TemporaryDirectory() as workdir:
    ckpt = checkpoint.Checkpointer(workdir, keep=repeats + 1, async_save=False)
    for i in range(repeats):
      t0 = time.perf_counter()
      ckpt.save(i + 1, state, {"experiment": config.name, "data_shape": list(shape)})
      ckpt.wait()
      save_s.append(time.perf_counter() - t0)
      t0 = time.perf_counter()
      ckpt.restore_latest(state, experiment=config.name)
      restore_s.append(time.perf_counter() - t0)
    ckpt.close()
  print(json.dumps({"config": config.name, "state_mib": round(n_bytes / 2**20, 1),
                    "save_s": round(statistics.median(save_s), 3),
                    "restore_s": round(statistics.median(restore_s), 3), "repeats": repeats}))
  return 0


if __name__ == "__main__":
  sys.exit(main())
