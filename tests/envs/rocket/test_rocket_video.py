"""The headless top-down video of a game (skipped without the rocket extra)."""

import math

import numpy as np
import pytest

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym.rocket_league")
pytest.importorskip("rlgym_tools")
pytest.importorskip("pettingzoo")

from dreamlab.envs.rocket import make_rocket_env  # noqa: E402
from dreamlab.envs.rocket.video import (  # noqa: E402
    CarView,
    FrameView,
    GameVideo,
    TopDownRenderer,
    frame_view,
)


def _pixel(frame: np.ndarray, renderer: TopDownRenderer, x: float, y: float) -> np.ndarray:
    """The frame's colour at field coordinates (x, y)."""
    to_px = renderer.ax.transData.transform((x, y))
    h = frame.shape[0]
    return frame[int(round(h - to_px[1])), int(round(to_px[0]))]


def test_frames_have_even_sides_and_show_cars_ball_and_score() -> None:
    renderer = TopDownRenderer(width_px=321, title="learner (blue) vs chaser", limit_s=120)
    view = FrameView(65.0, (CarView(-2000.0, -3000.0, math.pi / 2, 0, True),
                            CarView(2000.0, 3000.0, -math.pi / 2, 1)),
                     (0.0, 1500.0, 93.0), (1, 0))
    frame = renderer.render(view)
    h, w, c = frame.shape
    assert c == 3 and frame.dtype == np.uint8 and h % 2 == 0 and w % 2 == 0 and h > w
    blue, orange = _pixel(frame, renderer, -2000, -3000), _pixel(frame, renderer, 2000, 3000)
    assert blue[2] > 200 and blue[0] < 100  # a blue car
    assert orange[0] > 200 and orange[2] < 100  # an orange car
    assert (_pixel(frame, renderer, 0, 1500) > 230).all()  # the white ball
    assert renderer.score_text.get_text() == "BLUE 1 - 0 ORANGE   1:05 / 2:00"
    # Fewer cars in the next frame hides the spare arrows.
    renderer.render(FrameView(66.0, view.cars[:1], (0.0, 0.0, 93.0)))
    assert [p.get_visible() for p in renderer.cars] == [True, False]


def test_a_tiny_game_writes_a_video_with_frames(tmp_path) -> None:
    imageio = pytest.importorskip("imageio.v2")
    env = make_rocket_env({"team_size": "1v2", "no_touch_timeout_s": 1.0}, seed=0)
    path = tmp_path / "videos" / "game.mp4"
    video = GameVideo(path, fps=7.5, title="tiny", limit_s=4.0, hold_s=0.5)
    rng = np.random.default_rng(0)
    try:
        env.reset(seed=0)
        start = env.state_now.tick_count
        video.add(frame_view(env.state_now, start))
        while env.agents:
            env.step({a: int(rng.integers(90)) for a in env.agents})
            video.add(frame_view(env.state_now, start))
        written = video.close()
    finally:
        env.close()
    assert written == path and path.stat().st_size > 0
    assert not list(path.parent.glob(".*tmp*"))  # renamed into place
    frames = imageio.mimread(path, memtest=False)
    assert len(frames) == video.frames > 10  # ~15 steps of a 1 s no-touch game, + hold
    assert frames[0].shape == (video.renderer.size[0], video.renderer.size[1], 3)


def test_an_aborted_video_leaves_no_file(tmp_path) -> None:
    video = GameVideo(tmp_path / "v.mp4", fps=5)
    video.add(FrameView(0.0, (), (0.0, 0.0, 93.0)))
    video.abort()
    assert list(tmp_path.iterdir()) == []
