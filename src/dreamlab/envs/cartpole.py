"""A CartPole frame the VAE can read: a window that follows the cart, plus a track strip.

Resizing the whole 600x400 render to 64 px leaves the pole about 1 px wide and a 0.05 rad
tilt moves its tip by under a pixel (notes/cartpole-pixels-prototype.md). So:

* the top of the output is a 160-row x 128-column window around the cart, holding the cart
  and the whole pole up to well past the 0.21 rad termination angle (the tip is then
  ~31 px off the pivot, the window reaches 64). At 64 px the pole is ~5 px wide and a
  0.05 rad tilt moves its tip ~3 px. The window is narrower than tall, so the angle is
  shown ~1.4x wider than it is: a gain, not a loss, for a model that must read it;
* the cart is found from the pixels (the dark cart body below the track line), never from
  the env state, so the observation is honest;
* a window that follows the cart hides where the cart is, yet the episode ends at
  |x| > 2.4. The bottom rows (1/8 of the image) are therefore the full-width track band
  squeezed down: a minimap in which the cart is a dark blob at its true position.

Geometry is taken from Gymnasium's CartPole renderer (600x400 screen, cart 50x30 px,
pole 125 px from an axle 100 px above the bottom, image flipped so row 0 is the top),
scaled if a differently sized frame ever comes in.
"""

from __future__ import annotations

import numpy as np

from dreamlab.envs.wrappers import resize_frame

_REF_W, _REF_H = 600, 400
_CART_HALF_W = 25  # half the cart's width
_CART_ROWS = (284, 315)  # the cart body, with the track line through it at row 299
_DETECT_ROWS = (303, 313)  # inside the cart, below the track line and the axle
_BAND_ROWS = (160, 320)  # pole tip (row ~172 upright) down to the cart's bottom
_WINDOW_W = 128
_DARK = 60  # the cart is (0, 0, 0); track, pole and axle are far brighter or thinner


class CartPoleFollowCrop:
    """Callable frame transform: 600x400 CartPole render -> (size, size, 3) uint8."""

    def __init__(self, size: int, track_strip: bool = True) -> None:
        self.size = size
        self.strip_h = max(2, size // 8) if track_strip else 0
        self._center: float | None = None

    def reset(self) -> None:
        self._center = None

    def locate_cart(self, frame: np.ndarray) -> float:
        """Column of the cart's centre, read from the dark cart body in the frame."""
        h, w = frame.shape[:2]
        r0, r1 = (round(r * h / _REF_H) for r in _DETECT_ROWS)
        dark = (frame[r0:r1, :, :3].max(axis=2) < _DARK).any(axis=0)
        cols = np.flatnonzero(dark)
        half = _CART_HALF_W * w / _REF_W
        if cols.size == 0:  # cart wholly off screen (only after termination)
            return self._center if self._center is not None else w / 2
        left, right = float(cols[0]), float(cols[-1])
        if left <= 0 and right < w - 1:  # cut off by the left edge
            return right - half + 0.5
        if right >= w - 1 and left > 0:  # cut off by the right edge
            return left + half - 0.5
        return (left + right) / 2

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        self._center = self.locate_cart(frame)
        b0, b1 = (round(r * h / _REF_H) for r in _BAND_ROWS)
        win_w = round(_WINDOW_W * w / _REF_W)
        left = round(self._center) - win_w // 2
        # White canvas so the cart stays centred near the screen edges; the strip below
        # is what tells the model where it is.
        window = np.full((b1 - b0, win_w, 3), 255, dtype=np.uint8)
        src0, src1 = max(left, 0), min(left + win_w, w)
        if src1 > src0:
            window[:, src0 - left : src1 - left] = frame[b0:b1, src0:src1, :3]
        top = resize_frame(window, self.size - self.strip_h, self.size)
        if not self.strip_h:
            return top
        c0, c1 = (round(r * h / _REF_H) for r in _CART_ROWS)
        strip = resize_frame(frame[c0:c1, :, :3], self.strip_h, self.size)
        return np.concatenate([top, strip], axis=0)


# Gymnasium's CartPole picture, in its own surface coordinates (y up, 600x400 screen):
# 125 px per metre, cart 50x30 centred on y=100, pole 10x125 from an axle at y=107.5,
# axle a radius-5 disc, track a 1 px black line at y=100.
_SCALE = _REF_W / 4.8
_CART_Y = 100.0
_AXLE_Y = _CART_Y + 7.5
_POLE_HALF_W, _POLE_LEN = 5.0, 125.0
# pygame fills the pole and then draws an anti-aliased outline around it: measured against
# its frames, a pole 11 px wide sampled at pixel centres matches best.
_POLE_DRAWN_HALF_W = 5.5
_POLE_RGB = np.array([202, 152, 101], np.uint8)
_AXLE_RGB = np.array([129, 132, 203], np.uint8)


class CartPoleRaster:
    """The follow-crop picture drawn straight from the state, without pygame.

    Gymnasium renders a 600x400 frame with pygame (~3 ms on this CPU, ~11-16 ms when the
    cores are shared) that the follow-crop then cuts down to 64 px, so rendering was most
    of the cost of every CartPole-from-pixels step: collection, CMA-ES fitness and
    evaluation. This paints the same shapes (cart, pole, axle, track; the window that
    follows the cart and the track strip below it) at the reference resolution, only in
    the two regions the crop keeps, and resizes them with the same area average. A test
    holds it to the pygame + CartPoleFollowCrop picture.

    It reads the observation CartPole returns, [x, x_dot, theta, theta_dot], and draws
    only x and theta, as the renderer does: the agent still sees pixels only.
    """

    def __init__(self, size: int, track_strip: bool = True) -> None:
        self.size = size
        self.strip_h = max(2, size // 8) if track_strip else 0
        b0, b1 = _BAND_ROWS
        c0, c1 = _CART_ROWS
        # Surface y of each kept row (pygame draws y up; the frame is flipped).
        self._win_y = (_REF_H - 1 - np.arange(b0, b1)).astype(np.float64)
        self._strip_y = (_REF_H - 1 - np.arange(c0, c1)).astype(np.float64)
        # The strip away from the cart: white, with the track line.
        self._strip_bg = np.full((c1 - c0, _REF_W, 3), 255, np.uint8)
        self._strip_bg[self._strip_y == _CART_Y] = 0

    def reset(self) -> None:
        """Nothing to forget: the picture depends on the state only."""

    @staticmethod
    def _paint(out: np.ndarray, px: np.ndarray, py: np.ndarray, cartx: float,
               theta: float) -> None:
        """Paint the shapes into `out`, whose columns are screen columns `px` (1-D) and
        whose rows are surface rows `py` (1-D, y up).

        pygame's gfxdraw works on integer pixels with truncated vertices; the cart and
        axle follow that exactly. The pole is sampled at pixel centres, one column
        interval per row (a rotated rectangle cuts each row in one interval).
        """
        rows_cart = (py >= _CART_Y - 15.0) & (py <= _CART_Y + 15.0)
        cols_cart = (px >= int(cartx - 25.0)) & (px <= int(cartx + 25.0))
        out[np.ix_(rows_cart, cols_cart)] = 0
        s, c = np.sin(theta), np.cos(theta)
        ay = py + 0.5 - _AXLE_Y
        # |dx c - ay s| <= w  and  -w <= dx s + ay c <= L - w, with dx = px + 0.5 - cartx
        w = _POLE_DRAWN_HALF_W
        lo, hi = (ay * s - w) / c, (ay * s + w) / c
        if abs(s) > 1e-9:
            a0, a1 = (-_POLE_HALF_W - ay * c) / s, (_POLE_LEN - _POLE_HALF_W - ay * c) / s
            lo, hi = np.maximum(lo, np.minimum(a0, a1)), np.minimum(hi, np.maximum(a0, a1))
        else:
            outside = (ay < -_POLE_HALF_W) | (ay > _POLE_LEN - _POLE_HALF_W)
            lo, hi = np.where(outside, np.inf, lo), np.where(outside, -np.inf, hi)
        dx = px + 0.5 - cartx
        out[(dx[None, :] >= lo[:, None]) & (dx[None, :] <= hi[:, None])] = _POLE_RGB
        ax, ay_int = px - int(cartx), py - int(_AXLE_Y)
        out[ax[None, :] ** 2 + ay_int[:, None] ** 2 <= 25.0] = _AXLE_RGB
        out[py == _CART_Y] = 0  # the track line, drawn last
        out[:, (px < 0) | (px >= _REF_W)] = 255  # off the screen

    def __call__(self, state: np.ndarray) -> np.ndarray:
        x, theta = float(state[0]), float(state[2])
        cartx = x * _SCALE + _REF_W / 2.0
        # The crop centres its window on the cart's pixel columns, half a pixel left of
        # cartx; then it is white wherever the window leaves the screen.
        left = round((int(cartx - 25.0) + int(cartx + 25.0)) / 2) - _WINDOW_W // 2
        px = np.arange(left, left + _WINDOW_W, dtype=np.float64)
        window = np.full((len(self._win_y), _WINDOW_W, 3), 255, np.uint8)
        self._paint(window, px, self._win_y, cartx, theta)
        top = resize_frame(window, self.size - self.strip_h, self.size)
        if not self.strip_h:
            return top
        strip = self._strip_bg.copy()
        lo, hi = max(0, int(cartx) - 32), min(_REF_W, int(cartx) + 33)
        if hi > lo:
            patch = strip[:, lo:hi]
            self._paint(patch, np.arange(lo, hi, dtype=np.float64), self._strip_y,
                        cartx, theta)
        strip = resize_frame(strip, self.strip_h, self.size)
        return np.concatenate([top, strip], axis=0)
