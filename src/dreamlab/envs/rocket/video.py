"""A headless top-down 2D video of a Rocket League game (issue 13: RLViser needs a display).

matplotlib on its own Agg canvas (no pyplot, no display, no global backend switch) draws
the field outline with its cut corners, both goals, every car as an arrow in its team's
colour pointing where the car faces (ringed in yellow while it boosts), the ball (drawn
larger the higher it is), the score and the game clock. The figure and its artists are
built once and only moved each frame, and frames stream into report/video.py's
Mp4Writer, so a 2-minute game costs a few seconds and no memory.

The sizes are drawn larger than life (a car is ~120 units long on a 8,192 x 10,240 field,
3 pixels here), so that positions and headings stay readable in a small video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.patches import Circle, Polygon

from dreamlab.envs.rocket.config import TICKS_PER_SECOND
from dreamlab.report.plots import agg_figure
from dreamlab.report.video import Mp4Writer

# Field geometry (rlgym.rocket_league.common_values; repeated so drawing needs no rlgym).
SIDE_WALL_X = 4096.0
BACK_WALL_Y = 5120.0
BACK_NET_Y = 6000.0
GOAL_CENTER_TO_POST = 892.755
CORNER_CATHETUS_LENGTH = 1152.0
TEAM_COLOURS = ("#2f6fff", "#ff8a1c")  # blue (team 0), orange (team 1)
_CAR_LENGTH, _CAR_WIDTH = 420.0, 260.0  # drawn size, larger than life
_BALL_RADIUS = 150.0


@dataclass(frozen=True)
class CarView:
    x: float
    y: float
    yaw: float
    team: int
    boosting: bool = False


@dataclass(frozen=True)
class FrameView:
    """What one frame shows: game time, cars, ball (x, y, z), score (blue, orange)."""

    time_s: float
    cars: tuple[CarView, ...]
    ball: tuple[float, float, float]
    score: tuple[int, int] = (0, 0)


def frame_view(state: Any, start_tick: int = 0, score: tuple[int, int] = (0, 0)
               ) -> FrameView:
    """A FrameView of an RLGym GameState (attribute reads only, no copies of the state)."""
    cars = tuple(CarView(float(c.physics.position[0]), float(c.physics.position[1]),
                         float(c.physics.yaw), int(c.team_num), bool(c.is_boosting))
                 for c in state.cars.values())
    ball = state.ball.position
    return FrameView((state.tick_count - start_tick) / TICKS_PER_SECOND, cars,
                     (float(ball[0]), float(ball[1]), float(ball[2])), score)


def field_outline() -> np.ndarray:
    """(N, 2) closed outline of the floor: side and back walls, cut corners, goal mouths
    and nets (blue's goal at -y, orange's at +y)."""
    x, y, c = SIDE_WALL_X, BACK_WALL_Y, CORNER_CATHETUS_LENGTH
    g, n = GOAL_CENTER_TO_POST, BACK_NET_Y
    return np.array([
        (-x, -y + c), (-x + c, -y), (-g, -y), (-g, -n), (g, -n), (g, -y), (x - c, -y),
        (x, -y + c), (x, y - c), (x - c, y), (g, y), (g, n), (-g, n), (-g, y),
        (-x + c, y), (-x, y - c)])


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class TopDownRenderer:
    """Draws FrameViews into (H, W, 3) uint8 arrays; H and W are even (H.264 needs it).

    width_px: the frame's width; the height follows the field's proportions plus a line
    for the score and clock. title: a second header line (e.g. "learner (blue) vs chaser").
    limit_s: shown beside the clock as the game's length.
    """

    def __init__(self, width_px: int = 320, title: str = "",
                 limit_s: float | None = None) -> None:
        self.title = title
        self.limit_s = limit_s
        margin = 250.0
        self.xlim = (-SIDE_WALL_X - margin, SIDE_WALL_X + margin)
        self.ylim = (-BACK_NET_Y - margin, BACK_NET_Y + margin)
        header = 0.12  # fraction of the height for the two text lines
        aspect = (self.ylim[1] - self.ylim[0]) / (self.xlim[1] - self.xlim[0])
        dpi = 100
        width = 2 * round(width_px / 2)
        height = 2 * round(width * aspect / (1.0 - header) / 2)
        self.fig = agg_figure((width / dpi, height / dpi), dpi=dpi)
        self.fig.patch.set_facecolor("#101418")
        ax = self.fig.add_axes((0.0, 0.0, 1.0, 1.0 - header))
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.add_patch(Polygon(field_outline(), closed=True, facecolor="#1f5e32",
                             edgecolor="white", linewidth=1.2))
        g, y, n = GOAL_CENTER_TO_POST, BACK_WALL_Y, BACK_NET_Y
        for team, sign in ((0, -1.0), (1, 1.0)):  # each team's own goal
            ax.add_patch(Polygon([(-g, sign * y), (g, sign * y), (g, sign * n),
                                  (-g, sign * n)], closed=True, facecolor=TEAM_COLOURS[team],
                                 alpha=0.55, edgecolor="white", linewidth=1.0))
        ax.plot([-SIDE_WALL_X, SIDE_WALL_X], [0, 0], color="white", linewidth=0.6, alpha=0.6)
        ax.add_patch(Circle((0, 0), 1000, fill=False, edgecolor="white", linewidth=0.6,
                            alpha=0.6))
        self.ax = ax
        self.cars: list[Polygon] = []
        self.ball = Circle((0, 0), _BALL_RADIUS, facecolor="white", edgecolor="black",
                           linewidth=0.8, zorder=5)
        ax.add_patch(self.ball)
        self.score_text = self.fig.text(0.5, 1.0 - header * 0.3, "", ha="center",
                                        va="center", color="white", fontsize=11,
                                        fontweight="bold", family="monospace")
        self.title_text = self.fig.text(0.5, 1.0 - header * 0.75, title, ha="center",
                                        va="center", color="#c8c8c8", fontsize=7)
        self.size = (height, width)

    def _car_patch(self) -> Polygon:
        patch = Polygon(np.zeros((3, 2)), closed=True, linewidth=1.5, zorder=4)
        self.ax.add_patch(patch)
        self.cars.append(patch)
        return patch

    @staticmethod
    def car_shape(car: CarView) -> np.ndarray:
        """(3, 2) arrow-head triangle centred on the car, pointing along its yaw."""
        c, s = math.cos(car.yaw), math.sin(car.yaw)
        fwd, side = np.array([c, s]), np.array([-s, c])
        centre = np.array([car.x, car.y])
        half = _CAR_LENGTH / 2
        return np.array([centre + fwd * half,
                         centre - fwd * half + side * _CAR_WIDTH / 2,
                         centre - fwd * half - side * _CAR_WIDTH / 2])

    def render(self, view: FrameView) -> np.ndarray:
        while len(self.cars) < len(view.cars):
            self._car_patch()
        for patch, car in zip(self.cars, view.cars, strict=False):
            patch.set_xy(self.car_shape(car))
            patch.set_facecolor(TEAM_COLOURS[car.team])
            patch.set_edgecolor("#ffe14d" if car.boosting else "black")
            patch.set_visible(True)
        for patch in self.cars[len(view.cars):]:
            patch.set_visible(False)
        bx, by, bz = view.ball
        self.ball.center = (bx, by)
        self.ball.set_radius(_BALL_RADIUS * (1.0 + max(0.0, bz - 93.0) / 1000.0))
        clock = _clock(view.time_s)
        if self.limit_s is not None:
            clock += f" / {_clock(self.limit_s)}"
        self.score_text.set_text(f"BLUE {view.score[0]} - {view.score[1]} ORANGE   {clock}")
        canvas = self.fig.canvas
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


class GameVideo:
    """Renders FrameViews straight into an mp4: `add(view)` per kept frame, then `close()`.

    hold_s: the last frame (the goal, or the final whistle) is repeated this long, so the
    result stays on screen.
    """

    def __init__(self, path: str | Path, fps: float, title: str = "",
                 limit_s: float | None = None, width_px: int = 320,
                 hold_s: float = 1.0) -> None:
        self.renderer = TopDownRenderer(width_px, title, limit_s)
        self.writer = Mp4Writer(path, fps)
        self.fps = fps
        self.hold_s = hold_s
        self._last: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return self.writer.count

    def add(self, view: FrameView) -> None:
        self._last = self.renderer.render(view)
        self.writer.add(self._last)

    def close(self) -> Path:
        if self._last is not None:
            for _ in range(int(round(self.hold_s * self.fps))):
                self.writer.add(self._last)
        return self.writer.close()

    def abort(self) -> None:
        self.writer.abort()
