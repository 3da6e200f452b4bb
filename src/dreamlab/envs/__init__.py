"""Environments for every dreamlab algorithm: one factory, one set of conventions.

`make_env` maps old ids to Gymnasium 1.x, checks the optional extra is installed, and
returns pixel observations as uint8 (img_size, img_size, 3) or the raw state vector;
`env_info` describes an env for sizing models; `available_envs` lists what can run here.
"""

import os

# Frames come from render_mode="rgb_array". Without a display a headless SDL otherwise
# prints an XDG_RUNTIME_DIR error on every worker start; with one, --visualize may open
# a window, so the driver is left alone.
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from dreamlab.envs.factory import env_info, frame_transform_for, make_env, make_vector_env
from dreamlab.envs.registry import available_envs, check_available, resolve_env_id
from dreamlab.envs.spec import ActionSpec, EnvInfo, normalize_state

__all__ = [
    "ActionSpec",
    "EnvInfo",
    "available_envs",
    "check_available",
    "env_info",
    "frame_transform_for",
    "make_env",
    "make_vector_env",
    "normalize_state",
    "resolve_env_id",
]
