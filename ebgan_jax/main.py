"""Command line: ``python -m ebgan_jax.main --config experiments/<name>.py --workdir <dir>``.

Overrides follow the config file: ``--config.num_steps=200 --config.data.image_size=16``.
The training logic lives in :mod:`ebgan_jax.train`, importable from notebooks and tests.
"""

from __future__ import annotations

import argparse
import sys

from ebgan_jax import cli
from ebgan_jax.cli import set_cpu_defaults  # noqa: F401 - the name users of main held
from ebgan_jax.configs import split_overrides


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.main", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--config", required=True,
                      help="experiments/<name>.py, or just <name>")
  parser.add_argument("--workdir", default="", help="output directory (default runs/<name>)")
  parser.add_argument("--no_progress", action="store_true", help="no progress bar")
  multi = parser.add_argument_group("several processes (hosts); see ebgan_jax/parallel.py")
  multi.add_argument("--distributed", action="store_true",
                     help="start jax.distributed from the cluster's environment")
  multi.add_argument("--coordinator_address", default=None, help="host:port of process 0")
  multi.add_argument("--num_processes", type=int, default=None)
  multi.add_argument("--process_id", type=int, default=None)
  rest, overrides = split_overrides(argv)
  args = parser.parse_args(rest)
  return args, overrides


def main(argv: list[str] | None = None) -> int:
  args, overrides = parse_args(sys.argv[1:] if argv is None else argv)
  cli.set_cpu_defaults()
  from ebgan_jax import configs, parallel, train  # after the XLA flags are set
  if args.distributed or args.coordinator_address:
    parallel.initialize(args.coordinator_address, args.num_processes, args.process_id)

  def body() -> int:
    config = configs.load_config(args.config)
    configs.apply_overrides(config, overrides)
    configs.validate(config)
    workdir = args.workdir or configs.default_workdir(config)
    summary = train.train_and_evaluate(config, workdir, progress=not args.no_progress)
    return cli.EXIT_INTERRUPTED if summary.get("interrupted") else cli.EXIT_OK
  return cli.run(body)


if __name__ == "__main__":
  sys.exit(main())
