"""``make device-check`` on the CPU path with tiny sizes: every part runs and writes what a
machine with an accelerator would, and a second call resumes part (d)."""

import json
import tarfile

import pytest

from ebgan_jax.tools import device_check


def test_without_an_accelerator_it_stops_in_one_line(tmp_path, capsys):
  assert device_check.main(["--out", str(tmp_path / "out")]) == 2
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1 and "needs an accelerator" in err
  assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.slow  # each part's code is tested in its module; the command's errors below
def test_the_cpu_path_measures_every_part_and_resumes(tmp_path, capsys):
  out, work = tmp_path / "out", tmp_path / "work"
  args = ["--out", str(out), "--workdir", str(work), "--platform", "cpu", "--tiny",
          "--windows", "1", "--rows", "ring/GAN"]
  assert device_check.main(args) == 0
  measured = json.loads((out / "measured.json").read_text())
  equal = measured["equal"]
  assert equal["equal"] and equal["tolerance"] == device_check.EQUAL_TOLERANCE
  assert set(equal["comparisons"]) == {"all 1 devices vs one device",
                                       "the host's CPU vs one device"}
  # the same device computes the same numbers
  assert all(c["max_param_diff"] == 0.0 for c in equal["comparisons"].values())
  assert equal["largest_update"] > 0
  for dtype in ("float32", "bfloat16"):
    row = measured["celeba"][dtype]
    assert row["images_per_sec"] > 0 and 0 < row["mfu_of_measured_matmul"]
  program = measured["pacgan_program"]
  assert program["members"] == 2 and program["speedup_vs_sequential"] > 0
  # part (d): the row's table as make results PROTOCOL=pacgan writes it, and its logs
  assert "| GAN (ours) | 4 | 2 |" in (out / "pacgan" / "README.md").read_text()
  with tarfile.open(out / "pacgan_runs.tar.gz") as tar:
    names = tar.getnames()
  assert "pacgan/ring/GAN/summary.json" in names and not any("checkpoints" in n for n in names)
  assert "rows trained in this call: ring/GAN" in capsys.readouterr().out
  # A second call on a fresh machine: the finished row is kept, not trained again.
  assert device_check.main(args[:2] + ["--workdir", str(tmp_path / "fresh")] + args[4:] + [
      "--parts", "pacgan_rows", "--resume", str(out / "pacgan_runs.tar.gz")]) == 0
  assert "rows trained in this call: none" in capsys.readouterr().out
  assert (out / "pacgan" / "README.md").exists()
  assert len(list(out.rglob("*"))) <= 8  # what a lent machine sends back


@pytest.mark.parametrize("argv,message", [
    (["--platform", "cpu", "--parts", "nothing"], "--parts takes"),
    (["--platform", "cpu", "--resume", "missing.tar.gz"], "is not a file"),
    (["--platform", "cpu", "--parts", "pacgan_rows", "--rows", "ring/GANN", "--tiny"],
     "--rows takes dataset/model pairs"),
])
def test_bad_arguments_get_one_line(tmp_path, capsys, argv, message):
  assert device_check.main(["--out", str(tmp_path / "o"), "--workdir", str(tmp_path / "w"),
                            *argv]) == 2
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1 and message in err
