"""Is there a display for the wizard's window? Asked before Qt is loaded: without one, Qt's own
answer is an abort ("This application failed to start because no Qt platform plugin could be
initialized. Reinstalling the application may fix this problem."), which sends users the wrong
way. No Qt import here, so the check costs nothing."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

# Qt platform plugins that draw without a display server.
_HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"}


def no_display_problem(
    env: Mapping[str, str] | None = None, platform: str | None = None
) -> str | None:
    """None when a window can be shown; otherwise what to do, in accert's words."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform in ("win32", "darwin", "cygwin"):
        return None  # the desktop is always there
    chosen = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip().lower()
    if chosen in _HEADLESS_PLATFORMS:
        return None
    has_x11 = bool(env.get("DISPLAY"))
    has_wayland = bool(env.get("WAYLAND_DISPLAY"))
    if (chosen == "xcb" and has_x11) or (chosen == "wayland" and has_wayland):
        return None
    if not chosen and (has_x11 or has_wayland):
        return None
    missing = {
        "xcb": "QT_QPA_PLATFORM=xcb but DISPLAY is not set",
        "wayland": "QT_QPA_PLATFORM=wayland but WAYLAND_DISPLAY is not set",
    }.get(chosen, "neither DISPLAY nor WAYLAND_DISPLAY is set")
    return (
        f"accert: the wizard needs a display, and this session has none ({missing}).\n"
        "  Start it from a desktop session, or over SSH with X forwarding (ssh -X).\n"
        "  Without a screen: xvfb-run scripts/wizard (a virtual display), or\n"
        "  QT_QPA_PLATFORM=offscreen scripts/wizard (runs, but shows nothing).\n"
        "  Every step is also a command that needs no display: .venv/bin/accert --help"
    )
