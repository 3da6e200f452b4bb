"""benchmarks/_common.save_result: a results name is a file name inside benchmarks/results/."""

import json

import pytest


@pytest.fixture()
def common(benchmark_script, tmp_path, monkeypatch):
    module = benchmark_script("_common")
    monkeypatch.setattr(module, "RESULTS", tmp_path / "results")
    return module


def test_a_plain_name_writes_into_results(common, tmp_path) -> None:
    path = common.save_result("kick_s1.v2", {"figure": 1})
    assert path == tmp_path / "results" / "kick_s1.v2.json"
    assert json.loads(path.read_text())["figure"] == 1


@pytest.mark.parametrize("name", ["../escaped", "sub/name", "/tmp/abs", ".hidden", ""])
def test_a_name_that_is_a_path_is_refused(common, tmp_path, name) -> None:
    with pytest.raises(SystemExit, match="not a plain file name"):
        common.save_result(name, {"figure": 1})
    assert not list(tmp_path.rglob("*.json"))


def test_this_machines_paths_do_not_reach_the_file(common, tmp_path) -> None:
    import tempfile

    scratch = f"{tempfile.gettempdir()}/tmpab12/run"
    path = common.save_result("paths", {
        "command": f"dreamlab run --checkpoint-dir {scratch}",
        "run_dir": str(common.REPO / "runs" / "s1"),
        "tmproot_lookalike": f"{tempfile.gettempdir()}x/keep"})
    text = path.read_text()
    assert str(common.REPO) not in text and f"{tempfile.gettempdir()}/" not in text
    saved = json.loads(text)
    assert saved["command"] == "dreamlab run --checkpoint-dir $TMPDIR/tmpab12/run"
    assert saved["run_dir"] == "./runs/s1"
    assert saved["tmproot_lookalike"] == f"{tempfile.gettempdir()}x/keep"  # not a prefix match
