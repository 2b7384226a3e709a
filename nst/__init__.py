"""Neural style transfer after Gatys, Ecker & Bethge (2015): `from nst import stylize, Settings`."""
from .budget import Plan, plan, resolve
from .controls import Controls
from .engine import Frame, FrameInfo, run, stylize
from .levels import level_plan, plan_levels
from .objective import Objective
from .settings import CONTENT_LAYERS, LAYERS, PRESETS, STYLE_LAYERS, Settings, preset
from .timelapse import TimeLapse
from .weights import WeightsError, load_weights
from .yardstick import paper_losses

__all__ = ["stylize", "run", "Settings", "Controls", "TimeLapse", "Frame", "FrameInfo", "preset", "PRESETS",
           "plan_levels", "level_plan", "Objective", "resolve", "plan", "Plan", "paper_losses",
           "LAYERS", "STYLE_LAYERS", "CONTENT_LAYERS", "load_weights", "WeightsError"]
