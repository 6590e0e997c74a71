"""The input pipeline: worker processes and prefetching change when a batch is read, never
what it holds; errors reach the training loop; a run stopped early leaves nothing running."""

import pickle
import threading

import numpy as np
import pytest

from ebgan_jax import configs, data, train, trained
from ebgan_jax.data import loader
from ebgan_jax.data import synthetic_celeba as synthetic

from conftest import assert_resume_is_bitwise


@pytest.fixture(scope="module")
def celeba_like(tmp_path_factory):
  """A 40-image synthetic_celeb_a, written once for the module."""
  where = tmp_path_factory.mktemp("tfds")
  synthetic.write(str(where), 40)
  cfg = configs.base_config().data
  cfg.name, cfg.data_dir, cfg.image_size = "synthetic_celeb_a", str(where), 8
  return cfg


def _digits(**kw):
  cfg = configs.base_config().data
  cfg.update(kw)
  return cfg


def test_dispatch_is_the_datasets_batches_per_member_and_pickles_as_its_recipe():
  cfg = _digits()
  members = [(cfg, 0), (cfg, 3), (cfg, 0)]
  batches = loader.DispatchBatches(members, batch_size=8, k=2, rows=slice(2, 6))
  out = batches(10)
  assert out.shape == (3, 2, 4, 8, 8, 1)
  for i, seed in enumerate((0, 3, 0)):
    ref = data.make_dataset(cfg, batch_size=8, seed=seed)
    np.testing.assert_array_equal(out[i, 1], ref.batch(11)[2:6])
  copy = pickle.loads(pickle.dumps(batches))
  assert copy._datasets is None  # rebuilt where it is used, from the configs
  np.testing.assert_array_equal(copy(10), out)


def test_workers_read_the_same_batches_as_the_training_thread(celeba_like):
  batches = loader.DispatchBatches([(celeba_like, 5)], batch_size=4, k=1, rows=slice(None))
  steps = range(3, 12)  # crosses an epoch (10 batches of 4 in 40 images)
  inline = list(loader.host_batches(batches, steps, workers=0))
  ahead = list(loader.host_batches(batches, steps, workers=2))
  assert len(ahead) == len(steps)
  for a, b in zip(inline, ahead):
    np.testing.assert_array_equal(a, b)
  assert inline[0].shape == (1, 1, 4, 8, 8, 3)


def _loader(host, steps, prefetch, put=lambda b: b * 1):
  return loader.Loader(host, steps, put, prefetch, "test")


@pytest.mark.parametrize("prefetch", [0, 3])
def test_loader_yields_every_step_in_order(prefetch):
  steps = range(4, 40, 4)
  host = (np.full((2,), s, np.float32) for s in steps)
  with _loader(host, steps, prefetch) as feed:
    got = [(s, float(b[0])) for s, b in feed]
  assert got == [(s, float(s)) for s in steps]


def test_a_bad_batch_is_raised_in_the_training_thread():
  steps = range(5)
  host = (np.full((2,), np.nan if s == 3 else 0.0, np.float32) for s in steps)
  seen = []
  with pytest.raises(ValueError, match="batch of step 3 from 'test' holds NaN"):
    with _loader(host, steps, prefetch=2) as feed:
      for s, _ in feed:
        seen.append(s)
  assert seen == [0, 1, 2]


def test_leaving_early_stops_the_reader():
  closed = threading.Event()

  def endless():
    try:
      s = 0
      while True:
        yield np.zeros(1, np.float32) + s
        s += 1
    finally:
      closed.set()

  with _loader(endless(), range(10**9), prefetch=2) as feed:
    for s, _ in feed:
      if s == 5:
        break
  assert closed.is_set()
  assert not any(t.name == "ebgan_jax-loader" for t in threading.enumerate())


def test_training_with_workers_resumes_bitwise(celeba_like, tmp_path):
  """A TFDS run read by a worker process, stopped and resumed, ends where one read in the
  training thread without stopping ends."""
  base = configs.with_values(configs.load_config("digits_ebgan_pt"), **{
      "data.name": celeba_like.name, "data.data_dir": celeba_like.data_dir,
      "data.image_size": 8, "model.size_g": 16, "model.size_d": 16, "batch_size": 8,
      "num_steps": 6, "log_every": 3, "checkpoint_every": 3, "sample_every": 1000,
      "async_checkpoints": False, "data.workers": 0, "data.prefetch": 0})
  train.train_and_evaluate(base, str(tmp_path / "inline"), progress=False)
  ahead = configs.with_values(base.copy_and_resolve_references(),
                              **{"data.workers": 1, "data.prefetch": 2})
  assert_resume_is_bitwise(ahead, tmp_path / "inline", tmp_path / "split", split_at=3)
  assert trained.load(str(tmp_path / "split")).step == 6


def test_bad_worker_count_is_one_line():
  config = configs.load_config("digits_ebgan_pt")
  config.data.workers = -2
  with pytest.raises(ValueError, match="config.data.workers must be -1"):
    configs.validate(config)


def test_bench_end_to_end_reports_the_loader(celeba_like, capsys):
  import json
  from ebgan_jax.tools import bench
  assert bench.main(["--config", "digits_ebgan_pt", "--end_to_end", "--windows", "1",
                     "--steps", "2", "--workers", "1", "--config.batch_size=8",
                     "--config.model.size_g=16", "--config.model.size_d=16",
                     f"--config.data.name={celeba_like.name}",
                     f"--config.data.data_dir={celeba_like.data_dir}",
                     "--config.data.image_size=8", "--config.data.workers=1"]) == 0
  line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert line["data"] == "synthetic_celeb_a" and line["workers"] == 1
  assert line["end_to_end_images_per_sec"] > 0 and line["loader_images_per_sec"]["1"] > 0
  assert line["end_to_end_fraction"] == pytest.approx(
      line["end_to_end_images_per_sec"] / line["images_per_sec"], abs=0.01)


def test_a_mocked_tfds_source_is_read_in_the_training_process(celeba_like):
  import tensorflow_datasets as tfds
  cfg = configs.base_config().data
  cfg.name = "mnist"
  with tfds.testing.mock_data(num_examples=8):
    mocked = data.make_dataset(cfg, batch_size=4, seed=0)
  # tfds.testing.mock_data patches this process only; workers would look for real files
  assert mocked.mocked and loader.num_workers(cfg, mocked) == 0
  real = data.make_dataset(celeba_like, batch_size=4, seed=0)
  assert not real.mocked and loader.num_workers(celeba_like, real) == loader.default_workers()
