"""The training loop's input pipeline: batches read ahead by worker processes and put on the
devices before the step asks for them.

Every batch is still a pure function of ``(seed, step)`` (:mod:`ebgan_jax.data`): the loader
only decides *when* and *where* it is computed, never *what* it holds. A resumed run starts the
loader at its step and reads exactly what an uninterrupted run would; each process of a
multi-host run reads only its own rows.

- ``data.workers`` worker processes (grain's ``mp_prefetch``) compute whole dispatches of
  batches for TFDS datasets, whose JPEG decoding, cropping and resizing would otherwise run in
  the training thread. -1 picks a number from the host's core count; 0 reads in the loop's
  own thread. The embedded datasets (digits, mixtures, stacked digits) are arrays already
  in memory: they never use workers.
- ``data.prefetch`` batches are read and put on the devices by a background thread while the
  step runs, so that the step does not wait for the host. 0 reads each batch when the step
  asks for it.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ebgan_jax import data


def default_workers() -> int:
  """Worker processes for ``data.workers=-1``: half the host's cores (the other half runs the
  step's host work), at least 1 and at most 8."""
  return max(1, min(8, (os.cpu_count() or 2) // 2))


def num_workers(data_cfg: Any, dataset: Any = None) -> int:
  """The worker processes a run of ``data_cfg`` reads with: 0 for the in-memory datasets and
  for a ``dataset`` that only this process can read (a TFDS source under
  ``tfds.testing.mock_data``)."""
  if not data.spec(data_cfg.name).reads_files or getattr(dataset, "mocked", False):
    return 0
  workers = data_cfg.get("workers", 0)
  return default_workers() if workers < 0 else workers


class DispatchBatches:
  """The local batches of the dispatch that starts at ``step``: ``[members, k, rows, ...]``,
  each member reading the stream of its ``(data config, seed)``; members of one seed share a
  stream, as each would read alone.

  Pickled as its recipe (the data configs, seeds and sizes): a worker process builds its own
  datasets on first use instead of receiving the open files of ``datasets``, the ones this
  process already built (by seed).
  """

  def __init__(self, members: Sequence[tuple[Any, int]], batch_size: int, k: int, rows: slice,
               datasets: dict[int, data.Dataset] | None = None):
    self.members = [(data_cfg, int(seed)) for data_cfg, seed in members]
    self.batch_size, self.k, self.rows = batch_size, k, rows
    self._datasets = dict(datasets) if datasets else None

  def datasets(self) -> dict[int, data.Dataset]:
    if self._datasets is None:
      self._datasets = {}
      for data_cfg, seed in self.members:
        if seed not in self._datasets:
          self._datasets[seed] = data.make_dataset(data_cfg, batch_size=self.batch_size,
                                                   seed=seed)
    return self._datasets

  def __call__(self, step: int) -> np.ndarray:
    step, sets = int(step), self.datasets()
    return np.stack([np.stack([sets[seed].batch(s, self.rows)
                               for s in range(step, step + self.k)]) for _, seed in self.members])

  def __getstate__(self) -> dict[str, Any]:
    return {**self.__dict__, "_datasets": None}


def _mark_flags_parsed() -> None:
  # grain reads absl flags in its worker plumbing; a program that parses its own arguments
  # (argparse, pytest, a notebook) never parsed them, and grain then refuses to start.
  from absl import flags
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()


def host_batches(batches: Callable[[int], np.ndarray], steps: range,
                 workers: int) -> Iterator[np.ndarray]:
  """``batches(step)`` for each step of ``steps``, in order; with ``workers`` > 0, computed
  ahead by that many grain worker processes (each takes every ``workers``-th dispatch)."""
  if workers <= 0:
    yield from (batches(s) for s in steps)
    return
  import grain
  _mark_flags_parsed()
  dataset = grain.MapDataset.source(steps).map(batches).to_iter_dataset(
      grain.ReadOptions(num_threads=1, prefetch_buffer_size=1))
  # Batches come back pickled through a pipe, not in shared-memory blocks: a block's release
  # lags behind its use (grain frees them in a thread pool) and the blocks still pending when
  # the program ends are reported as leaked; a pipe costs one more copy of each batch.
  dataset = grain.experimental.WithOptionsIterDataset(
      dataset, grain.experimental.DatasetOptions(min_shm_size=1 << 62))
  iterator = iter(dataset.mp_prefetch(grain.MultiprocessingOptions(
      num_workers=workers, per_worker_buffer_size=2)))
  try:
    yield from iterator
  finally:
    close = getattr(iterator, "close", None)
    if close is not None:
      close()


class Loader:
  """Iterates ``(step, device_batch)`` over ``steps``: the host batches of ``host`` checked
  for non-finite values and put on the devices by ``put``, ``prefetch`` dispatches ahead in a
  background thread (0: in the caller's thread). Use as a context manager; leaving it stops
  the thread and the workers."""

  _DONE = object()

  def __init__(self, host: Iterator[np.ndarray], steps: range, put: Callable[[np.ndarray], Any],
               prefetch: int, name: str):
    self._host, self._steps, self._put, self._name = host, steps, put, name
    self._prefetch = prefetch
    self._queue: queue.Queue | None = None
    self._stop = threading.Event()
    self._thread: threading.Thread | None = None

  def _ready(self, step: int, batch: np.ndarray) -> Any:
    data.check_finite(batch, step, self._name)
    return self._put(batch)

  def _fill(self) -> None:
    try:
      for step, batch in zip(self._steps, self._host):
        item = (step, self._ready(step, batch))
        while not self._stop.is_set():
          try:
            self._queue.put(item, timeout=0.1)
            break
          except queue.Full:
            continue
        if self._stop.is_set():
          return
      self._queue.put(self._DONE)
    except BaseException as e:  # noqa: BLE001 - handed to the training thread, raised there
      self._queue.put(e)

  def __enter__(self) -> "Loader":
    if self._prefetch > 0:
      self._queue = queue.Queue(maxsize=self._prefetch)
      self._thread = threading.Thread(target=self._fill, name="ebgan_jax-loader", daemon=True)
      self._thread.start()
    return self

  def __iter__(self) -> Iterator[tuple[int, Any]]:
    if self._queue is None:
      for step, batch in zip(self._steps, self._host):
        yield step, self._ready(step, batch)
      return
    while True:
      item = self._queue.get()
      if item is self._DONE:
        return
      if isinstance(item, BaseException):
        raise item
      yield item

  def __exit__(self, *exc) -> None:
    self._stop.set()
    if self._thread is not None:
      while self._thread.is_alive():  # unblock a producer waiting on a full queue
        try:
          self._queue.get_nowait()
        except queue.Empty:
          pass
        self._thread.join(timeout=0.05)
    close = getattr(self._host, "close", None)
    if close is not None:
      close()


def feed(data_cfg: Any, members: Sequence[tuple[Any, int]], datasets: dict[int, data.Dataset],
         batch_size: int, k: int, rows: slice, steps: range, put: Callable[[np.ndarray], Any]
         ) -> Loader:
  """The :class:`Loader` of a run: the dispatches of ``steps`` of ``members`` (see
  :class:`DispatchBatches`), read by ``data_cfg.workers`` processes and ``data_cfg.prefetch``
  dispatches ahead; ``datasets`` are the ones this process built, by seed."""
  dataset = datasets[members[0][1]]
  dispatch = DispatchBatches(members, batch_size, k, rows, datasets)
  return Loader(host_batches(dispatch, steps, num_workers(data_cfg, dataset)), steps, put,
                data_cfg.prefetch, dataset.name)
