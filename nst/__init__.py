"""Neural style transfer after Gatys, Ecker & Bethge (2015): `from nst import stylize, Settings`."""
from .controls import Controls
from .engine import Frame, Objective, level_plan, plan_levels, run, stylize
from .machine import Plan, plan, resolve, speed
from .settings import CONTENT_LAYERS, LAYERS, PRESETS, STYLE_LAYERS, Settings, preset
from .timelapse import TimeLapse
from .weights import WeightsError, load_weights

__all__ = ["stylize", "run", "Settings", "Controls", "TimeLapse", "Frame", "preset", "PRESETS", "plan_levels", "level_plan",
           "Objective", "resolve", "plan", "Plan", "speed", "LAYERS", "STYLE_LAYERS", "CONTENT_LAYERS", "load_weights", "WeightsError"]
