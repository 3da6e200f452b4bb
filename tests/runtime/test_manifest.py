"""The manifest records stages and detects outputs that changed behind its back."""

from __future__ import annotations

from dreamlab.runtime.manifest import Manifest


def test_manifest_records_and_verifies(tmp_path) -> None:
    m = Manifest.load_or_create(tmp_path, {"env": "X"}, seed=3)
    out = tmp_path / "vae.pt"
    out.write_bytes(b"weights")
    m.mark_running("vae")
    m.mark_done("vae", [out], 1.5, {"loss": 0.1})
    again = Manifest.load(tmp_path)
    assert again.status("vae") == "done"
    assert again.stage("vae")["outputs"]["vae.pt"]["bytes"] == 7
    assert {"seed", "host", "user", "versions", "config"} <= set(again.data)
    assert again.verify_outputs("vae") is None
    out.write_bytes(b"weightz")
    assert "checksum" in again.verify_outputs("vae")
    out.unlink()
    assert "missing" in again.verify_outputs("vae")
