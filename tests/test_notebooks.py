"""The notebooks run, with small settings, so they cannot rot.

Their code cells are executed in order in one namespace; the cell tagged ``parameters`` gets
the test's values appended (as papermill does); shell and magic lines (``!``, ``%``) are
skipped. Outputs are not committed.
"""

import json
import pathlib

import jax
import pytest
import tensorflow_datasets as tfds

REPO = pathlib.Path(__file__).resolve().parent.parent


def run_notebook(name: str, parameters: dict, monkeypatch, tmp_path) -> dict:
  monkeypatch.chdir(tmp_path)
  cells = json.loads((REPO / "notebooks" / name).read_text())["cells"]
  namespace = {"__name__": "__main__"}
  tagged = 0
  for cell in cells:
    if cell["cell_type"] != "code":
      assert not cell.get("outputs")
      continue
    assert not cell["outputs"], f"{name}: outputs are committed"
    source = "".join(line for line in cell["source"] if not line.lstrip().startswith(("!", "%")))
    if "parameters" in cell["metadata"].get("tags", []):
      source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
      tagged += 1
    # User code (plain optax included) runs as users run it: JAX's default promotion.
    with jax.numpy_dtype_promotion("standard"):
      exec(compile(source, name, "exec"), namespace)
  assert tagged == 1
  return namespace


def test_quickstart(monkeypatch, tmp_path):
  ns = run_notebook("quickstart.ipynb", {"GRID_STEPS": 20, "DIGITS_STEPS": 20, "SWEEP_STEPS": 10,
                                         "WORKDIR": str(tmp_path / "runs")}, monkeypatch, tmp_path)
  assert (tmp_path / "runs" / "grid" / "samples_final.png").exists()
  assert (tmp_path / "runs" / "digits" / "samples_final.png").exists()
  assert len(ns["results"]) == 4


# The notebook runner is tested by test_quickstart, CelebA's mock pipeline by test_family's
# celeba_began.
@pytest.mark.slow
def test_celeba(monkeypatch, tmp_path):
  with tfds.testing.mock_data(num_examples=8):
    ns = run_notebook("celeba_ebgan.ipynb", {"DATA_DIR": str(tmp_path), "NUM_STEPS": 2,
                                             "BATCH_SIZE": 4, "SAMPLE_EVERY": 1, "FEATURES": 8,
                                             "WORKDIR": str(tmp_path / "celeba")},
                      monkeypatch, tmp_path)
  assert ns["summary"]["steps"] == 2
  assert (tmp_path / "celeba" / "samples_000001.png").exists()
