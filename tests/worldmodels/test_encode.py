"""The encode stage: latent layout, state envs, resume, and a changed VAE."""

from pathlib import Path

import numpy as np
import pytest
import torch

from dreamlab.config import WorldModelConfig
from dreamlab.data import EpisodeStore
from dreamlab.envs import ActionSpec, EnvInfo, normalize_state
from dreamlab.errors import StageInputError
from dreamlab.models.vae import ConvVAE
from dreamlab.runtime.device import setup_device, torch_threads
from dreamlab.runtime.logger import RunLogger
from dreamlab.worldmodels.context import RunPaths, StageContext
from dreamlab.worldmodels.encode import run_encode

IMG, Z = 32, 8
STATE_LOW = np.array([-2.4, -3.0, -0.2, -3.5], np.float32)
STATE_HIGH = -STATE_LOW


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def make_ctx(root: Path, obs: str = "pixels") -> StageContext:
    cfg = WorldModelConfig(vae_img_size=IMG, z_dim=Z)
    info = EnvInfo("Toy-v0", obs, (IMG, IMG, 3) if obs == "pixels" else (4,),
                   ActionSpec("discrete", 3), None, STATE_LOW, STATE_HIGH)
    return StageContext(cfg=cfg, paths=RunPaths(root), logger=RunLogger(root, enabled=False),
                        device=setup_device("cpu", num_threads=1), env_info=info)


def write_raw(root: Path, obs: str, episodes: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    store = EpisodeStore(root / "raw_data", create=True)
    for _ in range(episodes):
        steps = int(rng.integers(3, 12))
        if obs == "pixels":
            frames = rng.integers(0, 256, (steps + 1, IMG, IMG, 3), dtype=np.uint8)
        else:
            frames = rng.uniform(-2, 2, (steps + 1, 4)).astype(np.float32)
        store.append({"obs": frames, "actions": rng.integers(0, 3, steps),
                      "rewards": rng.standard_normal(steps).astype(np.float32),
                      "terminated": np.arange(steps) == steps - 1})


def write_vae(ctx: StageContext, seed: int = 0) -> ConvVAE:
    torch.manual_seed(seed)
    model = ConvVAE(img_size=IMG, z_dim=Z)
    torch.save(model.to_checkpoint(), ctx.paths.vae)
    return model


def test_pixel_latents_have_the_documented_layout(tmp_path: Path) -> None:
    write_raw(tmp_path, "pixels", episodes=5)
    ctx = make_ctx(tmp_path)
    model = write_vae(ctx)
    metrics = run_encode(ctx)
    raw, latents = EpisodeStore(ctx.paths.raw_data), EpisodeStore(ctx.paths.latents)
    assert metrics == {"episodes": 5, "steps": raw.num_steps, "z_dim": Z}
    for i in range(5):
        src, ep = raw.load(i), latents.load(i)
        t = len(src["actions"])
        assert ep["mu"].shape == ep["logvar"].shape == (t + 1, Z)
        assert ep["mu"].dtype == ep["logvar"].dtype == np.float16
        assert ep["actions"].dtype == np.float32 and ep["actions"].shape == (t, 3)
        assert np.array_equal(ep["actions"].argmax(1), src["actions"])  # one-hot
        assert np.array_equal(ep["rewards"], src["rewards"])
        assert np.array_equal(ep["terminated"].astype(bool), src["terminated"])
    obs = torch.from_numpy(raw.load(2)["obs"]).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        mu, _ = model.encode(obs)
    np.testing.assert_allclose(latents.load(2)["mu"], mu.numpy(), atol=2e-2, rtol=1e-2)


def test_state_env_latents_are_the_normalised_state(tmp_path: Path) -> None:
    write_raw(tmp_path, "state", episodes=3)
    ctx = make_ctx(tmp_path, obs="state")
    metrics = run_encode(ctx)
    assert metrics["z_dim"] == 4
    raw, ep = EpisodeStore(ctx.paths.raw_data).load(1), EpisodeStore(ctx.paths.latents).load(1)
    want = normalize_state(ctx.env_info, raw["obs"])
    np.testing.assert_allclose(ep["mu"], want, atol=2e-3, rtol=1e-3)  # float16
    assert np.all(ep["logvar"] == -20)


def test_a_rerun_continues_after_the_stored_episodes(tmp_path: Path) -> None:
    write_raw(tmp_path, "pixels", episodes=3)
    ctx = make_ctx(tmp_path)
    write_vae(ctx)
    run_encode(ctx)
    first = EpisodeStore(ctx.paths.latents).load(0)["mu"]
    mtime = (ctx.paths.latents / "episodes" / "ep_0000000.dlep").stat().st_mtime_ns
    write_raw(tmp_path, "pixels", episodes=2, seed=1)  # collect was resumed with more
    assert run_encode(ctx)["episodes"] == 5
    again = (ctx.paths.latents / "episodes" / "ep_0000000.dlep").stat().st_mtime_ns
    assert again == mtime  # not re-encoded
    assert np.array_equal(EpisodeStore(ctx.paths.latents).load(0)["mu"], first)


def test_latents_of_an_old_vae_are_rebuilt(tmp_path: Path) -> None:
    write_raw(tmp_path, "pixels", episodes=3)
    ctx = make_ctx(tmp_path)
    write_vae(ctx, seed=0)
    run_encode(ctx)
    old = EpisodeStore(ctx.paths.latents).load(0)["mu"]
    write_vae(ctx, seed=1)  # V was retrained
    assert run_encode(ctx)["episodes"] == 3
    assert not np.array_equal(EpisodeStore(ctx.paths.latents).load(0)["mu"], old)


def test_missing_inputs_name_the_stage_to_run(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    with pytest.raises(StageInputError) as info:
        run_encode(ctx)
    assert "collect" in info.value.hint
    write_raw(tmp_path, "pixels", episodes=1)
    with pytest.raises(StageInputError) as info:
        run_encode(ctx)
    assert "--stage vae" in info.value.hint
