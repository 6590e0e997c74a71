"""Data parallelism: one ``data`` mesh axis over every device of every process.

The step is ``jax.jit`` over a mesh with the batch sharded along ``data`` and the state
replicated; XLA inserts the collectives. The result is the single-device math on the global
batch: gradients are exact averages over all examples, the pulling-away term is over all rows
of all devices, and BatchNorm uses the statistics of the global batch (synchronised BatchNorm),
so 1 device and N devices compute the same function. There is no separate one-device path.

Several processes (hosts): :func:`initialize` starts ``jax.distributed``; each process loads
only its slice of the global batch (``process_slice``) and the slices are assembled into one
global array with ``jax.make_array_from_process_local_data``.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
  """Starts multi-process JAX from arguments, or from the cluster's environment when they are
  ``None`` (TPU pods, SLURM, Open MPI, or JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES /
  JAX_PROCESS_ID). Call it before anything else touches JAX's devices."""
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes, process_id=process_id)


def host_memory() -> int:
  """This host's physical memory in bytes: the bound of the arrays a run or a sampler may
  allocate on it."""
  return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
  """The data-parallel mesh over ``devices`` (default: every device of the default backend)."""
  # Auto axes: XLA propagates the shardings (GSPMD); the step only pins the batch axis.
  devices = list(devices) if devices is not None else jax.devices()
  return jax.make_mesh((len(devices),), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,),
                       devices=devices)


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh, leading_axes: int = 0) -> NamedSharding:
  """Shards the batch axis, which follows ``leading_axes`` unsharded axes (e.g. steps)."""
  return NamedSharding(mesh, P(*([None] * leading_axes), DATA_AXIS))


def process_slice(global_batch: int) -> slice:
  """The rows of the global batch that this process loads."""
  n = jax.process_count()
  if global_batch % n:
    raise ValueError(f"a global batch of {global_batch} does not split over {n} processes.")
  per = global_batch // n
  return slice(jax.process_index() * per, (jax.process_index() + 1) * per)


def global_batch(local: np.ndarray, sharding: NamedSharding, batch_axis: int = 0) -> jax.Array:
  """This process's rows assembled with the other processes' into one global array."""
  shape = list(local.shape)
  shape[batch_axis] *= jax.process_count()
  return jax.make_array_from_process_local_data(sharding, local, tuple(shape))


def replicate(tree: Any, mesh: Mesh) -> Any:
  return jax.device_put(tree, replicated(mesh))
