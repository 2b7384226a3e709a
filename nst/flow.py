"""Optical flow between video frames and what Ruder, Dosovitskiy & Brox (2016) derive from it:
the previous painted frame warped onto this one, and where that warp can be trusted.

Flow is OpenCV's DIS (dense inverse search): a maintained library, CPU-fast, no binaries to fetch.
Convention: flow(a, b) gives, for each pixel p of a, the displacement to the same point in b,
a(p) ~ b(p + w(p)). So warp(b, flow(a, b)) looks like a.
"""
from __future__ import annotations

import numpy as np
from PIL import Image


def _grey(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"), dtype=np.uint8)


def flow(a: Image.Image, b: Image.Image) -> np.ndarray:
    """(H, W, 2) float32 flow from frame a to frame b (x, y displacements in px)."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_grey(a), _grey(b), None)


def warp(img, w: np.ndarray) -> np.ndarray:
    """img (PIL or (H, W, C) array) sampled at p + w(p), bicubic, edges replicated: img moved
    onto the frame the flow w starts from. Returns float32 (H, W, C), or (H, W) for a 2-D map.
    Bicubic, not bilinear: a painting warped frame after frame is resampled each time, and
    bilinear's blur added up (a zooming pan's fifth frame ended at 2.4x the first's style loss,
    bicubic 1.35x; bench/video.py)."""
    import cv2

    a = np.asarray(img, dtype=np.float32)
    h, wd = w.shape[:2]
    gx, gy = np.meshgrid(np.arange(wd, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(a, gx + w[..., 0], gy + w[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def reliability(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(H, W) float32 weights c in {0, 1} for frame k (Ruder et al. 2016, sec. 3.2), from the
    backward flow w^ (frame k to k-1, the one the warp uses) and the forward flow (k-1 to k):
    - disoccluded where the two disagree, |w~ + w^|^2 > 0.01 (|w~|^2 + |w^|^2) + 0.5, with
      w~(p) = forward(p + w^(p)) (a point followed there and back should come home);
    - a motion boundary where |grad u^|^2 + |grad v^|^2 > 0.01 |w^|^2 + 0.002;
    - and where p + w^(p) falls outside the previous frame (what a pan brings in is new).
    c = 0 at any of these, 1 elsewhere."""
    there_and_back = warp(forward, backward)
    mismatch = ((there_and_back + backward) ** 2).sum(-1)
    size = (there_and_back ** 2).sum(-1) + (backward ** 2).sum(-1)
    occluded = mismatch > 0.01 * size + 0.5
    gy_u, gx_u = np.gradient(backward[..., 0])
    gy_v, gx_v = np.gradient(backward[..., 1])
    boundary = gx_u ** 2 + gy_u ** 2 + gx_v ** 2 + gy_v ** 2 > 0.01 * (backward ** 2).sum(-1) + 0.002
    h, w = backward.shape[:2]
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    x, y = gx + backward[..., 0], gy + backward[..., 1]
    outside = (x < 0) | (x > w - 1) | (y < 0) | (y > h - 1)
    return (~(occluded | boundary | outside)).astype(np.float32)


def carried(painted_prev: Image.Image, frame: Image.Image, frame_prev: Image.Image
            ) -> tuple[np.ndarray, np.ndarray]:
    """(warped, c): the previous painted frame warped onto `frame` (float (H, W, 3)), and the
    reliability of that warp, all at the painted frame's size."""
    size = painted_prev.size
    f, fp = frame.resize(size, Image.LANCZOS), frame_prev.resize(size, Image.LANCZOS)
    backward, forward = flow(f, fp), flow(fp, f)
    return warp(painted_prev, backward), reliability(backward, forward)


def temporal_error(painted: list, frames: list) -> float:
    """Flicker (the measure of Ruder et al.): the mean over k >= 1 of the mean squared difference
    between painted frame k and painted frame k-1 warped onto it by the input's flow, over the
    pixels that flow tracks reliably; in grey levels squared."""
    errors = []
    for k in range(1, len(painted)):
        warped, c = carried(painted[k - 1], frames[k], frames[k - 1])
        d = ((np.asarray(painted[k], np.float32) - warped) ** 2).mean(-1)
        errors.append(float((c * d).sum() / max(c.sum(), 1.0)))
    return float(np.mean(errors)) if errors else 0.0
