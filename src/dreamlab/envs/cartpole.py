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
