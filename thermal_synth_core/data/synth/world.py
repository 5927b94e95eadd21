"""A procedural street world whose RGB -> thermal mapping is deliberately *not* grayscale.

The world is a straight street seen by a forward-looking camera (pinhole, flat
ground): road, sidewalks, building facades with windows, trees, street furniture,
pedestrians and cars. Every visible thing is a flat polygon (:class:`Part`) that
carries both its colour (what the RGB camera sees) and its surface temperature
(what the thermal camera sees). Colour and temperature are chosen so that a
model cannot get thermal right from brightness alone:

* pedestrians are warm whatever their clothes' colour (black, white, red, grey);
* the sky is cold whatever its colour (blue, overcast, red sunset, black night);
* tyres, underbody, engine and exhaust are hot on running cars only (their lights
  are lit); parked cars of the same colours are at ambient temperature;
* red things are decoys: red parked cars, stop signs, hydrants, red facades are
  not warm; lit traffic lights and lamps are bright in RGB but barely warm;
* at night the RGB frame is dark (except lights) while warm objects stand out
  in thermal, and the road keeps some of the day's heat.

Geometry lives in *reference RGB pixel coordinates* (the RGB camera at its
reference size); the RGB image at any size and the thermal image through any
RGB -> thermal matrix are rendered from the same polygons (see
:mod:`thermal_synth_core.data.synth.render`), so the alignment between them is
known exactly.

Scenes can move in time (:meth:`StreetLayout.scene_at`): the ego vehicle drives
forward, pedestrians walk and other cars drive, so a rosbag of a short drive has
consistent motion when RGB and thermal are sampled at different rates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from thermal_synth_core.objects import ObjectClass

__all__ = [
    "FOCAL_RANGE",
    "KELVIN",
    "MASK_HOT_VEHICLE",
    "MASK_PERSON",
    "Car",
    "Conditions",
    "Light",
    "Part",
    "Person",
    "Prop",
    "Scene",
    "SceneObject",
    "StreetCamera",
    "StreetLayout",
    "random_layout",
]

Size = tuple[int, int]
RGB = tuple[float, float, float]
Poly = npt.NDArray[np.float64]

#: Mask value of pedestrians in warm-object masks (0 = not a warm object).
MASK_PERSON = 255
#: Mask value of hot vehicle parts (tyres, underbody, engine, exhaust of running cars).
MASK_HOT_VEHICLE = 128

#: 0 degC in K.
KELVIN = 273.15

#: Nearest depth (m) geometry is clipped to, so projections stay finite.
NEAR_Z = 1.0

#: Focal length of the street camera in units of the reference frame's width, drawn uniformly per frame
#: (the thermal view's field of view follows from it: ``folders.rig_thermal_camera``).
FOCAL_RANGE = (1.0, 1.15)


@dataclass(frozen=True)
class Part:
    """One flat polygon of the scene, drawn back to front."""

    poly: Poly  # (N, 2) reference-RGB pixel coordinates
    color: RGB  # RGB 0..255 as the camera sees it (lighting applied)
    temp: float  # surface temperature in K (emissivity folded in)
    warm: int = 0  # warm-object mask class, 0 if not warm


@dataclass(frozen=True)
class Light:
    """A light seen by the RGB camera: an additive glow (its heat, if any, is in a Part)."""

    x: float
    y: float
    rx: float
    ry: float
    color: RGB
    strength: float


@dataclass(frozen=True)
class SceneObject:
    """An object annotations name (a person or a car): its class and its polygons, ``Scene.parts[start:stop]``.

    The slice leaves out the object's shadow (a patch of ground, not the object).
    """

    category: ObjectClass
    start: int
    stop: int


@dataclass(frozen=True)
class Scene:
    """Everything needed to render one instant: sky, polygons back to front, glows, and which parts are objects."""

    ref_size: Size
    night: bool
    horizon: float
    sky_rgb: tuple[RGB, RGB]  # (top, horizon)
    sky_temp: tuple[float, float]  # (top, horizon)
    parts: tuple[Part, ...]
    first_actor: int  # parts[first_actor:] belong to actors (they can occlude warm objects)
    lights: tuple[Light, ...]
    ambient: float
    objects: tuple[SceneObject, ...] = ()  # people and cars, far to near


@dataclass(frozen=True)
class StreetCamera:
    """Pinhole camera at ``height`` m above flat ground, looking along +z (x right, y up)."""

    ref_size: Size
    horizon: float  # image row of the horizon (px)
    vp_x: float  # image column of the vanishing point (px)
    focal: float  # px
    height: float = 1.4

    def project(self, x: npt.ArrayLike, y: npt.ArrayLike, z: npt.ArrayLike) -> Poly:
        """World points (m) to reference-RGB pixel coordinates, shape (..., 2)."""
        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
        za = np.maximum(np.asarray(z, dtype=np.float64), NEAR_Z)
        u = self.vp_x + self.focal * xa / za
        v = self.horizon + self.focal * (self.height - ya) / za
        return np.stack(np.broadcast_arrays(u, v), axis=-1)

    def billboard(self, x: float, z: float, pts: npt.ArrayLike) -> Poly:
        """A planar shape facing the camera at ground position (x, z); ``pts`` are (dx, dy) in m."""
        p = np.asarray(pts, dtype=np.float64)
        return self.project(x + p[:, 0], p[:, 1], np.full(len(p), z))


@dataclass(frozen=True)
class Conditions:
    """Day or night, temperatures and light."""

    night: bool
    ambient: float  # air temperature, K
    sun: float  # 0..1 solar load (0 at night): heats roads, sunlit facades
    light: float  # brightness factor of unlit surfaces in RGB
    sky_top: RGB
    sky_horizon: RGB
    sky_temp_top: float
    sky_temp_horizon: float

    def lit(self, color: RGB, factor: float = 1.0) -> RGB:
        """The colour of an unlit surface under this scene's light."""
        k = self.light * factor
        return (min(color[0] * k, 255.0), min(color[1] * k, 255.0), min(color[2] * k, 255.0))


# -- palettes --------------------------------------------------------------------------------

CLOTHES: tuple[RGB, ...] = (
    (22, 22, 26),
    (235, 235, 230),
    (205, 30, 35),
    (35, 60, 160),
    (40, 110, 55),
    (125, 125, 130),
    (230, 200, 45),
    (110, 72, 42),
    (205, 120, 170),
    (60, 62, 72),
    (150, 150, 148),
    (240, 125, 35),
    (20, 120, 130),
)
SKIN: tuple[RGB, ...] = ((240, 200, 170), (205, 155, 115), (150, 100, 65), (95, 62, 42))
HAIR: tuple[RGB, ...] = ((25, 20, 15), (90, 60, 30), (200, 170, 110), (140, 140, 140), (60, 35, 20))
CAR: tuple[RGB, ...] = (
    (190, 25, 30),
    (195, 28, 28),
    (20, 20, 24),
    (235, 235, 235),
    (172, 176, 182),
    (35, 55, 125),
    (70, 72, 78),
    (120, 20, 30),
    (30, 80, 50),
    (220, 190, 60),
)
FACADE: tuple[RGB, ...] = (
    (150, 62, 46),
    (200, 186, 152),
    (130, 130, 136),
    (222, 220, 214),
    (92, 100, 122),
    (175, 40, 40),
    (190, 150, 110),
)
SKY_DAY: tuple[tuple[RGB, RGB], ...] = (
    ((70, 130, 220), (175, 205, 240)),  # clear blue
    ((150, 150, 156), (202, 202, 206)),  # overcast
    ((90, 80, 150), (250, 160, 90)),  # sunset
    ((170, 55, 45), (240, 150, 110)),  # red sky: still cold
    ((200, 206, 216), (236, 236, 240)),  # haze
)
SKY_NIGHT: tuple[tuple[RGB, RGB], ...] = (
    ((4, 6, 16), (22, 24, 40)),
    ((10, 8, 6), (48, 34, 22)),  # urban orange glow
)


def _pick(rng: np.random.Generator, items: Sequence[RGB], jitter: float = 12.0) -> RGB:
    base = items[int(rng.integers(len(items)))]
    j = rng.uniform(-jitter, jitter, 3)
    return (
        float(np.clip(base[0] + j[0], 0, 255)),
        float(np.clip(base[1] + j[1], 0, 255)),
        float(np.clip(base[2] + j[2], 0, 255)),
    )


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 20) -> Poly:
    a = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)


def _rect(x0: float, y0: float, x1: float, y1: float) -> Poly:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _octagon(cx: float, cy: float, r: float) -> Poly:
    a = np.linspace(0.0, 2.0 * math.pi, 8, endpoint=False) + math.pi / 8
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


# -- actors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A pedestrian: warm skin, clothes warmer than the air whatever their colour."""

    x: float
    z: float
    vx: float
    vz: float
    height: float
    skin: RGB
    hair: RGB
    top: RGB
    bottom: RGB
    short_sleeves: bool
    phase: float
    skin_temp: float
    clothes_temp: float

    def at(self, t: float, ego: float) -> Person:
        """This person ``t`` seconds later, the ego vehicle driving at ``ego`` m/s."""
        return replace(self, x=self.x + self.vx * t, z=self.z + (self.vz - ego) * t, phase=self.phase + 6.0 * t)

    def parts(self, cam: StreetCamera, cond: Conditions, ground: Part | None) -> list[Part]:
        """Polygons of this pedestrian (and its shadow), back to front."""
        h = self.height
        walking = abs(self.vx) + abs(self.vz) > 0.05
        swing = 0.32 * math.sin(self.phase) if walking else 0.05
        out: list[Part] = []
        if ground is not None:
            out.append(ground)
        wm = MASK_PERSON

        def add(pts: Poly, color: RGB, temp: float) -> None:
            out.append(Part(cam.billboard(self.x, self.z, pts), cond.lit(color), temp, wm))

        legs_temp = self.clothes_temp - 2.0
        hip, leg_w = 0.52 * h, 0.075 * h
        for side, sgn in ((-1.0, 1.0), (1.0, -1.0)):
            hx = side * 0.055 * h
            fx = hx + sgn * swing * 0.5 * hip
            add(
                np.array(
                    [
                        [hx - leg_w / 2, hip],
                        [hx + leg_w / 2, hip],
                        [fx + leg_w / 2, 0.03 * h],
                        [fx - leg_w / 2, 0.03 * h],
                    ]
                ),
                self.bottom,
                legs_temp,
            )
            add(_rect(fx - leg_w * 0.7, 0.0, fx + leg_w * 0.7, 0.035 * h), (30, 28, 26), cond.ambient + 4.0)
        torso = np.array(
            [
                [-0.1 * h, 0.5 * h],
                [0.1 * h, 0.5 * h],
                [0.13 * h, 0.8 * h],
                [0.11 * h, 0.835 * h],
                [-0.11 * h, 0.835 * h],
                [-0.13 * h, 0.8 * h],
            ]
        )
        add(torso, self.top, self.clothes_temp)
        arm_w = 0.05 * h
        for side, sgn in ((-1.0, -1.0), (1.0, 1.0)):
            sx = side * 0.135 * h
            hx = side * 0.15 * h + sgn * swing * 0.2 * h
            sleeve = self.skin if self.short_sleeves else self.top
            add(
                np.array(
                    [
                        [sx - arm_w / 2, 0.81 * h],
                        [sx + arm_w / 2, 0.81 * h],
                        [hx + arm_w / 2, 0.47 * h],
                        [hx - arm_w / 2, 0.47 * h],
                    ]
                ),
                sleeve,
                self.skin_temp - 1.0 if self.short_sleeves else self.clothes_temp,
            )
            add(_ellipse(hx, 0.455 * h, 0.028 * h, 0.032 * h, 10), self.skin, self.skin_temp - 1.5)
        add(_rect(-0.025 * h, 0.83 * h, 0.025 * h, 0.87 * h), self.skin, self.skin_temp)
        add(_ellipse(0.0, 0.925 * h, 0.062 * h, 0.074 * h, 18), self.skin, self.skin_temp)
        a = np.linspace(0.0, math.pi, 12)
        hair = np.stack([0.066 * h * np.cos(a), 0.94 * h + 0.06 * h * np.sin(a)], axis=1)
        add(hair, self.hair, self.skin_temp - 4.0)
        return out


@dataclass(frozen=True)
class Car:
    """A car seen from the rear, the front or the side; running cars have hot tyres, engine, exhaust."""

    x: float
    z: float
    vx: float
    vz: float
    view: str  # "rear", "front" or "side"
    running: bool
    color: RGB
    facing: float = 1.0  # side view: +1 front to the right

    def at(self, t: float, ego: float) -> Car:
        """This car ``t`` seconds later."""
        return replace(self, x=self.x + self.vx * t, z=self.z + (self.vz - ego) * t)

    def parts(self, cam: StreetCamera, cond: Conditions, ground: Part | None) -> list[Part]:
        """Polygons of this car (and its shadow), back to front."""
        ta = cond.ambient
        on = self.running
        hot = MASK_HOT_VEHICLE if on else 0
        cold_metal = ta - (3.0 if cond.night else 1.0) + 4.0 * cond.sun
        body_t = ta + 5.0 if on else cold_metal
        tyre_t = ta + 26.0 if on else ta
        under_t = ta + 14.0 if on else ta - 1.0
        glass_t = ta - 6.0 - 4.0 * cond.sun
        out: list[Part] = []
        if ground is not None:
            out.append(ground)
        lit = cond.lit
        f = self.facing

        def add(pts: Poly, color: RGB, temp: float, warm: int = 0) -> None:
            if self.view == "side":
                pts = pts * np.array([f, 1.0])
            out.append(Part(cam.billboard(self.x, self.z, pts), color, temp, warm))

        c = self.color
        dark = (c[0] * 0.6, c[1] * 0.6, c[2] * 0.6)
        glass = (55, 65, 80)
        if self.view in ("rear", "front"):
            add(_rect(-0.8, 0.0, 0.8, 0.28), lit((18, 18, 18)), under_t, hot)
            for s in (-1.0, 1.0):
                add(
                    _rect(s * 0.9 - (0.26 if s > 0 else 0), 0.0, s * 0.9 + (0.26 if s < 0 else 0), 0.52),
                    lit((24, 24, 24)),
                    tyre_t,
                    hot,
                )
            add(
                np.array([[-0.9, 0.22], [0.9, 0.22], [0.9, 0.86], [0.84, 0.96], [-0.84, 0.96], [-0.9, 0.86]]),
                lit(c),
                body_t,
            )
            add(_rect(-0.9, 0.22, 0.9, 0.36), lit(dark), body_t)
            add(np.array([[-0.8, 0.96], [0.8, 0.96], [0.64, 1.43], [-0.64, 1.43]]), lit(c), body_t)
            add(np.array([[-0.7, 1.0], [0.7, 1.0], [0.57, 1.38], [-0.57, 1.38]]), lit(glass), glass_t)
            add(_rect(-0.25, 0.4, 0.25, 0.52), lit((230, 230, 225)), body_t)
            if self.view == "rear":
                lamp: RGB = (255, 45, 40) if on else lit((110, 22, 22))
                add(_ellipse(0.55, 0.2, 0.06, 0.045, 10), lit((30, 30, 30)), ta + 48.0 if on else ta, hot)
            else:
                lamp = (255, 250, 225) if on else lit((150, 150, 150))
                add(_rect(-0.45, 0.38, 0.45, 0.62), lit((40, 40, 42)), ta + 28.0 if on else ta, hot)
            for s in (-1.0, 1.0):
                add(_rect(s * 0.62 - 0.13, 0.64, s * 0.62 + 0.13, 0.8), lamp, ta + 6.0 if on else cold_metal)
        else:
            add(_rect(-1.75, 0.0, 1.75, 0.3), lit((18, 18, 18)), under_t, hot)
            add(
                np.array([[-2.2, 0.3], [2.2, 0.3], [2.25, 0.74], [2.0, 0.95], [-2.1, 0.95], [-2.25, 0.7]]),
                lit(c),
                body_t,
            )
            add(
                _rect(1.15, 0.3, 2.22, 0.9), lit(c), ta + 20.0 if on else cold_metal, hot
            )  # engine bay: same colour, hot
            add(np.array([[-1.3, 0.95], [1.0, 0.95], [0.5, 1.42], [-1.0, 1.42]]), lit(c), body_t)
            add(np.array([[-1.18, 0.99], [0.86, 0.99], [0.44, 1.36], [-0.92, 1.36]]), lit(glass), glass_t)
            for wx in (-1.4, 1.4):
                add(_ellipse(wx, 0.34, 0.34, 0.34, 22), lit((24, 24, 24)), tyre_t, hot)
                add(_ellipse(wx, 0.34, 0.17, 0.17, 14), lit((150, 150, 155)), ta + 18.0 if on else cold_metal, hot)
            add(_rect(2.05, 0.62, 2.24, 0.76), (255, 250, 225) if on else lit((150, 150, 150)), ta + 6.0 if on else ta)
            add(_rect(-2.25, 0.62, -2.12, 0.78), (255, 45, 40) if on else lit((110, 22, 22)), ta + 6.0 if on else ta)
            add(_ellipse(-2.05, 0.22, 0.06, 0.05, 10), lit((30, 30, 30)), ta + 48.0 if on else ta, hot)
        return out

    def lights(self, cam: StreetCamera, cond: Conditions) -> list[Light]:
        """Glows of lit lamps (running cars only)."""
        if not self.running:
            return []
        s = cam.focal / max(self.z, NEAR_Z)
        k = 0.8 if cond.night else 0.3
        if self.view == "side":
            f = self.facing
            pts = [((2.15 * f, 0.69), (255.0, 245.0, 210.0)), ((-2.18 * f, 0.7), (255.0, 40.0, 30.0))]
        elif self.view == "rear":
            pts = [((-0.62, 0.72), (255.0, 40.0, 30.0)), ((0.62, 0.72), (255.0, 40.0, 30.0))]
        else:
            pts = [((-0.62, 0.72), (255.0, 245.0, 210.0)), ((0.62, 0.72), (255.0, 245.0, 210.0))]
        out = []
        for (dx, dy), col in pts:
            p = cam.project(self.x + dx, dy, self.z)
            out.append(Light(float(p[0]), float(p[1]), 0.16 * s, 0.13 * s, col, k))
        return out


@dataclass(frozen=True)
class Prop:
    """Street furniture and vegetation: near ambient temperature whatever their colour."""

    x: float
    z: float
    kind: str  # "stop", "no_entry", "hydrant", "traffic_light", "streetlight", "tree", "bin"
    color: RGB = (0.0, 0.0, 0.0)
    state: int = 0  # traffic light: lit lamp 0 red, 1 amber, 2 green
    seed: int = 0  # shape variation (tree crowns)

    def at(self, t: float, ego: float) -> Prop:
        """This prop ``t`` seconds later (it does not move; the ego vehicle does)."""
        return replace(self, z=self.z - ego * t)

    def parts(self, cam: StreetCamera, cond: Conditions) -> list[Part]:
        """Polygons of this prop, back to front."""
        ta = cond.ambient
        metal = ta - (2.5 if cond.night else 1.0) + 3.0 * cond.sun
        lit = cond.lit
        out: list[Part] = []

        def add(pts: Poly, color: RGB, temp: float) -> None:
            out.append(Part(cam.billboard(self.x, self.z, pts), color, temp))

        grey = lit((120, 122, 126))
        if self.kind in ("stop", "no_entry"):
            add(_rect(-0.035, 0.0, 0.035, 2.1), grey, metal)
            if self.kind == "stop":
                add(_octagon(0.0, 2.35, 0.4), lit((235, 235, 235)), metal)
                add(_octagon(0.0, 2.35, 0.36), lit((200, 20, 28)), metal)
            else:
                add(_ellipse(0.0, 2.35, 0.36, 0.36, 24), lit((205, 25, 30)), metal)
                add(_rect(-0.24, 2.3, 0.24, 2.4), lit((240, 240, 240)), metal)
        elif self.kind == "hydrant":
            add(_rect(-0.14, 0.0, 0.14, 0.6), lit((200, 25, 25)), metal)
            add(_ellipse(0.0, 0.62, 0.14, 0.08, 12), lit((200, 25, 25)), metal)
            add(_rect(-0.22, 0.38, 0.22, 0.46), lit((180, 20, 20)), metal)
        elif self.kind == "bin":
            add(_rect(-0.3, 0.0, 0.3, 1.0), lit(self.color), metal)
            add(_rect(-0.33, 1.0, 0.33, 1.08), lit((40, 40, 40)), metal)
        elif self.kind == "traffic_light":
            add(_rect(-0.06, 0.0, 0.06, 3.0), grey, metal)
            add(_rect(-0.2, 3.0, 0.2, 4.05), lit((25, 25, 25)), metal)
            for i, col in enumerate(((255.0, 35.0, 30.0), (255.0, 170.0, 20.0), (40.0, 255.0, 110.0))):
                on = i == self.state
                add(
                    _ellipse(0.0, 3.86 - 0.34 * i, 0.12, 0.12, 14),
                    col if on else lit((55, 55, 55)),
                    ta + (3.0 if on else 0.0),
                )
        elif self.kind == "streetlight":
            add(_rect(-0.07, 0.0, 0.07, 6.0), grey, metal)
            add(
                np.array([[-0.07, 5.9], [-0.9, 6.05], [-0.9, 6.15], [-0.07, 6.05]])
                * np.array([np.sign(self.x) or 1.0, 1.0]),
                grey,
                metal,
            )
            head = (255.0, 225.0, 160.0) if cond.night else lit((200, 200, 190))
            sx = -0.9 * (np.sign(self.x) or 1.0)
            add(_rect(sx - 0.25, 5.95, sx + 0.25, 6.08), head, ta + (12.0 if cond.night else 0.5))
        elif self.kind == "tree":
            trunk = lit((95, 70, 45))
            add(_rect(-0.15, 0.0, 0.15, 2.6), trunk, ta + 1.5 * cond.sun)
            rng = np.random.default_rng(self.seed)
            for _ in range(4):
                cx, cy = rng.uniform(-0.9, 0.9), rng.uniform(3.0, 4.4)
                r = rng.uniform(0.9, 1.5)
                g = (rng.uniform(30, 70), rng.uniform(90, 150), rng.uniform(30, 60))
                add(_ellipse(cx, cy, r, r * 0.9, 18), lit(g), ta - 2.0 + 1.0 * cond.sun)
        return out

    def lights(self, cam: StreetCamera, cond: Conditions) -> list[Light]:
        """Glows of lamps."""
        s = cam.focal / max(self.z, NEAR_Z)
        if self.kind == "traffic_light":
            p = cam.project(self.x, 3.86 - 0.34 * self.state, self.z)
            col = ((255.0, 35.0, 30.0), (255.0, 170.0, 20.0), (40.0, 255.0, 110.0))[self.state]
            return [Light(float(p[0]), float(p[1]), 0.15 * s, 0.15 * s, col, 0.8 if cond.night else 0.35)]
        if self.kind == "streetlight" and cond.night:
            sx = -0.9 * (np.sign(self.x) or 1.0)
            p = cam.project(self.x + sx, 6.0, self.z)
            g = cam.project(self.x + sx, 0.0, self.z)
            return [
                Light(float(p[0]), float(p[1]), 0.35 * s, 0.35 * s, (255.0, 215.0, 150.0), 0.9),
                Light(float(g[0]), float(g[1]), 3.0 * s, 0.8 * s, (255.0, 200.0, 130.0), 0.3),
            ]
        return []


Actor = Person | Car | Prop


# -- the street ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facade:
    """One building front along the street (a vertical plane at ``x``) from ``z0`` to ``z1``."""

    x: float
    z0: float
    z1: float
    height: float
    color: RGB
    window_rows: int
    window_cols: int
    lit_windows: tuple[bool, ...]
    sunlit: bool


@dataclass(frozen=True)
class StreetLayout:
    """A street and the actors in it; :meth:`scene_at` renders any instant of a drive along it."""

    camera: StreetCamera
    conditions: Conditions
    road: tuple[float, float]  # x of the left and right road edge (m)
    sidewalk: float  # sidewalk width (m)
    facades: tuple[Facade, ...]
    actors: tuple[Actor, ...]
    clouds: tuple[tuple[float, float, float, float], ...]  # (x, y, rx, ry) in ref px
    ego_speed: float = 0.0
    dash_phase: float = 0.0
    asphalt: RGB = (72, 72, 76)
    sidewalk_rgb: RGB = (165, 162, 156)
    verge_rgb: RGB = (70, 110, 50)

    # -- temperatures of the static world ------------------------------------------------------

    def _asphalt_temp(self) -> float:
        c = self.conditions
        return c.ambient + (3.0 if c.night else 2.0 + 6.0 * c.sun)

    def _sidewalk_temp(self) -> float:
        c = self.conditions
        return c.ambient + (1.0 if c.night else 1.0 + 4.0 * c.sun)

    def _verge_temp(self) -> float:
        c = self.conditions
        return c.ambient - 2.5 + 2.0 * c.sun

    def scene_at(self, t: float = 0.0) -> Scene:
        """The scene ``t`` seconds into the drive."""
        cam, cond = self.camera, self.conditions
        shift = self.ego_speed * t
        parts: list[Part] = []
        far = 400.0
        w = cam.ref_size[0]
        # Ground: verge everywhere below the horizon, then road and sidewalks on it.
        ground = np.array([[-3.0 * w, cam.horizon], [4.0 * w, cam.horizon], [4.0 * w, 4.0 * w], [-3.0 * w, 4.0 * w]])
        parts.append(Part(ground, cond.lit(self.verge_rgb), self._verge_temp()))
        left, right = self.road
        sw = self.sidewalk
        for x0, x1, rgb, temp in (
            (left - sw, left, self.sidewalk_rgb, self._sidewalk_temp()),
            (right, right + sw, self.sidewalk_rgb, self._sidewalk_temp()),
            (left, right, self.asphalt, self._asphalt_temp()),
        ):
            quad = cam.project([x0, x1, x1, x0], [0.0, 0.0, 0.0, 0.0], [NEAR_Z, NEAR_Z, far, far])
            parts.append(Part(quad, cond.lit(rgb), temp))
        for x in (left, right):  # kerbs
            quad = cam.project([x - 0.12, x + 0.12, x + 0.12, x - 0.12], [0.0] * 4, [NEAR_Z, NEAR_Z, far, far])
            parts.append(Part(quad, cond.lit((200, 198, 192)), self._sidewalk_temp() - 1.0))
        # Lane markings: dashed lines that move towards the camera as the ego vehicle drives.
        paint_t = self._asphalt_temp() - 2.5
        for lx in self._lane_lines():
            period, dash = 9.0, 3.0
            start = -((shift + self.dash_phase) % period)
            z = start
            while z < 120.0:
                z0, z1 = max(z, 1.5), z + dash
                if z1 > 1.5:
                    quad = cam.project([lx - 0.08, lx + 0.08, lx + 0.08, lx - 0.08], [0.0] * 4, [z0, z0, z1, z1])
                    parts.append(Part(quad, cond.lit((230, 228, 210)), paint_t))
                z += period
        # Buildings.
        for fac in self.facades:
            parts.extend(self._facade_parts(fac, shift))
        # Shadows and actors, far to near.
        moved: list[Actor] = [a.at(t, self.ego_speed) for a in self.actors]
        moved = [a for a in moved if 2.0 < a.z < 150.0]
        moved.sort(key=lambda a: -a.z)
        first_actor = len(parts)
        lights: list[Light] = []
        for fac in self.facades:
            lights.extend(self._window_lights(fac, shift))
        objects: list[SceneObject] = []
        n_clouds = len(self.clouds)
        for a in moved:
            if isinstance(a, Prop):
                parts.extend(a.parts(cam, cond))
                lights.extend(a.lights(cam, cond))
            else:
                shadow = self._shadow(a)
                start = len(parts) + int(shadow is not None) + n_clouds
                parts.extend(a.parts(cam, cond, shadow))
                objects.append(SceneObject("person" if isinstance(a, Person) else "car", start, len(parts) + n_clouds))
                if isinstance(a, Car):
                    lights.extend(a.lights(cam, cond))
        return Scene(
            ref_size=cam.ref_size,
            night=cond.night,
            horizon=cam.horizon,
            sky_rgb=(cond.sky_top, cond.sky_horizon),
            sky_temp=(cond.sky_temp_top, cond.sky_temp_horizon),
            parts=tuple(self._cloud_parts()) + tuple(parts),
            first_actor=first_actor + n_clouds,
            lights=tuple(lights),
            ambient=cond.ambient,
            objects=tuple(objects),
        )

    def _lane_lines(self) -> list[float]:
        left, right = self.road
        lines = []
        x = right - 3.5
        while x > left + 1.0:
            lines.append(x)
            x -= 3.5
        return lines

    def _cloud_parts(self) -> list[Part]:
        cond = self.conditions
        col = cond.lit((235, 235, 238)) if not cond.night else (28.0, 28.0, 34.0)
        temp = cond.sky_temp_top + 0.55 * (cond.ambient - cond.sky_temp_top)
        return [Part(_ellipse(x, y, rx, ry, 24), col, temp) for x, y, rx, ry in self.clouds]

    def _ground_at(self, x: float) -> tuple[RGB, float]:
        left, right = self.road
        if left <= x <= right:
            return self.asphalt, self._asphalt_temp()
        if left - self.sidewalk <= x <= right + self.sidewalk:
            return self.sidewalk_rgb, self._sidewalk_temp()
        return self.verge_rgb, self._verge_temp()

    def _shadow(self, a: Person | Car) -> Part | None:
        cond = self.conditions
        if cond.night or cond.sun < 0.4:
            return None
        rgb, temp = self._ground_at(a.x)
        half = 0.35 if isinstance(a, Person) else (2.4 if a.view == "side" else 1.05)
        depth = 0.5 if isinstance(a, Person) else (1.1 if a.view == "side" else 2.2)
        off = 0.6 * half
        quad = self.camera.project(
            [a.x - half + off, a.x + half + off, a.x + half + 2 * off, a.x - half + 2 * off],
            [0.0] * 4,
            [a.z - 0.1, a.z - 0.1, a.z + depth, a.z + depth],
        )
        return Part(quad, cond.lit((rgb[0] * 0.5, rgb[1] * 0.5, rgb[2] * 0.52)), temp - 3.0 * cond.sun)

    def _facade_parts(self, fac: Facade, shift: float) -> list[Part]:
        cam, cond = self.camera, self.conditions
        z0, z1 = fac.z0 - shift, fac.z1 - shift
        if z1 <= NEAR_Z + 0.5:
            return []
        z0 = max(z0, NEAR_Z)
        ta = cond.ambient
        wall_t = ta + (1.5 if cond.night else 1.0 + (6.0 if fac.sunlit else 1.5) * cond.sun)
        shade = 1.0 if fac.sunlit or cond.night else 0.78
        x = fac.x
        quad = cam.project([x, x, x, x], [0.0, 0.0, fac.height, fac.height], [z0, z1, z1, z0])
        out = [Part(quad, cond.lit(fac.color, shade), wall_t)]
        zz0, zz1 = fac.z0 - shift, fac.z1 - shift
        length = zz1 - zz0
        k = 0
        for r in range(fac.window_rows):
            y0 = 1.2 + 3.0 * r
            if y0 + 1.5 > fac.height - 0.4:
                break
            for c in range(fac.window_cols):
                wz0 = zz0 + (c + 0.3) * length / fac.window_cols
                wz1 = wz0 + 0.45 * length / fac.window_cols
                lit_on = cond.night and fac.lit_windows[k % len(fac.lit_windows)]
                k += 1
                if wz0 < NEAR_Z + 0.3:
                    continue
                wquad = cam.project([x, x, x, x], [y0, y0, y0 + 1.5, y0 + 1.5], [wz0, wz1, wz1, wz0])
                if lit_on:
                    out.append(Part(wquad, (250.0, 205.0, 130.0), ta + 2.5))
                else:
                    out.append(Part(wquad, cond.lit((60, 72, 92), shade), ta - 5.0 - 3.0 * cond.sun))
        return out

    def _window_lights(self, fac: Facade, shift: float) -> list[Light]:
        if not self.conditions.night:
            return []
        cam = self.camera
        out = []
        zz0, zz1 = fac.z0 - shift, fac.z1 - shift
        length = zz1 - zz0
        k = 0
        for r in range(fac.window_rows):
            y0 = 1.2 + 3.0 * r
            if y0 + 1.5 > fac.height - 0.4:
                break
            for c in range(fac.window_cols):
                on = fac.lit_windows[k % len(fac.lit_windows)]
                k += 1
                wz = zz0 + (c + 0.525) * length / fac.window_cols
                if not on or wz < 2.0:
                    continue
                p = cam.project(fac.x, y0 + 0.75, wz)
                s = cam.focal / wz
                out.append(Light(float(p[0]), float(p[1]), 0.6 * s, 0.6 * s, (250.0, 200.0, 120.0), 0.15))
        return out


# -- random layouts --------------------------------------------------------------------------


def random_conditions(rng: np.random.Generator, night: bool) -> Conditions:
    """Day or night conditions with a random sky (its colour says nothing about its temperature)."""
    if night:
        top, hor = SKY_NIGHT[int(rng.integers(len(SKY_NIGHT)))]
        ambient = float(rng.uniform(274.0, 286.0))
        return Conditions(
            night=True,
            ambient=ambient,
            sun=0.0,
            light=float(rng.uniform(0.1, 0.17)),
            sky_top=top,
            sky_horizon=hor,
            sky_temp_top=ambient - float(rng.uniform(35.0, 50.0)),
            sky_temp_horizon=ambient - float(rng.uniform(8.0, 14.0)),
        )
    i = int(rng.integers(len(SKY_DAY)))
    top, hor = SKY_DAY[i]
    overcast = i in (1, 4)
    ambient = float(rng.uniform(280.0, 291.0))
    return Conditions(
        night=False,
        ambient=ambient,
        sun=float(rng.uniform(0.1, 0.4) if overcast else rng.uniform(0.5, 1.0)),
        light=float(rng.uniform(0.85, 1.1)),
        sky_top=top,
        sky_horizon=hor,
        sky_temp_top=ambient - float(rng.uniform(10.0, 16.0) if overcast else rng.uniform(35.0, 50.0)),
        sky_temp_horizon=ambient - float(rng.uniform(6.0, 10.0)),
    )


def _facades(rng: np.random.Generator, x: float, sunlit: bool) -> list[Facade]:
    out = []
    z = float(rng.uniform(-4.0, 6.0))
    while z < 140.0:
        length = float(rng.uniform(8.0, 22.0))
        if rng.random() < 0.85:
            height = float(rng.uniform(5.0, 20.0))
            rows = int(height // 3.0)
            cols = max(1, int(length // 3.2))
            lit = tuple(bool(v) for v in rng.random(rows * cols + 1) < 0.4)
            out.append(Facade(x, z, z + length, height, _pick(rng, FACADE, 10.0), rows, cols, lit, sunlit))
        z += length + float(rng.uniform(0.0, 6.0))
    return out


@dataclass(frozen=True)
class _Road:
    """The cross-section of a random street: road edges and sidewalk width (m)."""

    left: float
    right: float
    sidewalk: float

    def sidewalk_x(self, rng: np.random.Generator) -> float:
        """A random x on either sidewalk."""
        if rng.random() < 0.5:
            return float(rng.uniform(self.left - self.sidewalk + 0.4, self.left - 0.4))
        return float(rng.uniform(self.right + 0.4, self.right + self.sidewalk - 0.4))


def _random_camera(rng: np.random.Generator, ref_size: Size) -> StreetCamera:
    w, h = ref_size
    return StreetCamera(
        ref_size=ref_size,
        horizon=float(h * rng.uniform(0.38, 0.47)),
        vp_x=float(w * rng.uniform(0.46, 0.54)),
        focal=float(w * rng.uniform(*FOCAL_RANGE)),
        height=float(rng.uniform(1.3, 1.6)),
    )


def _random_road(rng: np.random.Generator) -> tuple[_Road, tuple[Facade, ...]]:
    """Road edges, sidewalk and the facades along both sides (the sun lights one side)."""
    left = -float(rng.choice([5.25, 8.75]))
    right = float(rng.choice([5.25, 8.75]))
    sidewalk = float(rng.uniform(2.5, 4.0))
    sun_left = bool(rng.random() < 0.5)
    facades = tuple(_facades(rng, left - sidewalk, sun_left) + _facades(rng, right + sidewalk, not sun_left))
    return _Road(left, right, sidewalk), facades


def _pedestrians(
    rng: np.random.Generator, road: _Road, cam: StreetCamera, cond: Conditions, night: bool
) -> list[Actor]:
    """People crossing the road or walking (or standing) on the sidewalks, where the thermal camera sees them."""
    walk = 1.3
    # A sidewalk pedestrian is in view only when far enough that |x| / z stays within the
    # field of view (~0.38 of the width / focal).
    in_view = 0.38 * cam.ref_size[0] / cam.focal
    people: list[Actor] = []
    for _ in range(int(rng.choice([2, 2, 3, 3, 4, 4, 5, 6, 7]))):
        crossing = rng.random() < 0.5
        if crossing:
            x = float(rng.uniform(max(road.left + 0.5, -4.0), min(road.right - 0.5, 4.0)))
            z = float(5.0 + 17.0 * rng.random() ** 1.3)
            vx, vz = float(rng.choice([-walk, walk])), 0.0
        else:
            x = road.sidewalk_x(rng)
            near = max(6.0, abs(x) / in_view)
            z = float(near + (36.0 - near) * rng.random() ** 1.5)
            vx, vz = 0.0, float(rng.choice([-walk, walk, 0.0]))
        people.append(
            Person(
                x=x,
                z=z,
                vx=vx,
                vz=vz,
                height=float(rng.uniform(1.5, 1.95)),
                skin=_pick(rng, SKIN, 8.0),
                hair=_pick(rng, HAIR, 8.0),
                top=_pick(rng, CLOTHES),
                bottom=_pick(rng, CLOTHES),
                short_sleeves=bool(rng.random() < 0.4 and not night),
                phase=float(rng.uniform(0, 2 * math.pi)),
                skin_temp=float(rng.uniform(305.0, 308.0)),
                clothes_temp=float(rng.uniform(299.0, 302.0)) + (1.5 * cond.sun),
            )
        )
    return people


def _traffic(rng: np.random.Generator, road: _Road, ego_speed: float) -> list[Actor]:
    """Running cars: crossing ones, and ones in the lanes (ahead of the ego car, or oncoming)."""
    lanes = [float(x) for x in np.arange(road.right - 1.75, road.left, -3.5)]
    cars: list[Actor] = []
    for _ in range(int(rng.choice([0, 1, 1, 2, 2, 3]))):
        kind = rng.random()
        if kind < 0.2:
            vx = float(rng.choice([-8.0, 8.0]))
            cars.append(
                Car(
                    x=float(rng.uniform(road.left - 3.0, road.right + 3.0)),
                    z=float(rng.uniform(16.0, 34.0)),
                    vx=vx,
                    vz=0.0,
                    view="side",
                    running=True,
                    color=_pick(rng, CAR),
                    facing=1.0 if vx > 0 else -1.0,
                )
            )
            continue
        lane = float(lanes[int(rng.integers(len(lanes)))])
        oncoming = lane < 0
        cars.append(
            Car(
                x=lane + float(rng.uniform(-0.3, 0.3)),
                z=float(rng.uniform(9.0, 45.0)),
                vx=0.0,
                vz=float(-9.0 if oncoming else ego_speed + rng.uniform(-1.0, 1.5)),
                view="front" if oncoming else "rear",
                running=True,
                color=_pick(rng, CAR),
            )
        )
    return cars


def _parked_cars(rng: np.random.Generator, road: _Road) -> list[Actor]:
    """Cold cars at the kerbs, some side-on, some red (decoys for a colour-to-heat shortcut)."""
    cars: list[Actor] = []
    for _ in range(int(rng.choice([1, 2, 2, 3, 4]))):
        side_right = rng.random() < 0.6
        x = road.right - 1.0 if side_right else road.left + 1.0
        if rng.random() < 0.2:
            cars.append(
                Car(
                    x=x + (1.5 if side_right else -1.5),
                    z=float(rng.uniform(10.0, 30.0)),
                    vx=0.0,
                    vz=0.0,
                    view="side",
                    running=False,
                    color=_pick(rng, CAR),
                    facing=float(rng.choice([-1.0, 1.0])),
                )
            )
            continue
        cars.append(
            Car(
                x=x,
                z=float(rng.uniform(6.0, 40.0)),
                vx=0.0,
                vz=0.0,
                view="rear" if side_right else "front",
                running=False,
                color=(float(rng.uniform(170, 210)), float(rng.uniform(10, 40)), float(rng.uniform(15, 40)))
                if rng.random() < 0.35
                else _pick(rng, CAR),
            )
        )
    return cars


def _street_furniture(rng: np.random.Generator, road: _Road) -> list[Actor]:
    """Signs, hydrants, bins and trees on the sidewalks, streetlights along the road, maybe a traffic light."""
    props: list[Actor] = []
    for _ in range(int(rng.integers(1, 4))):
        prop_kind = str(rng.choice(["stop", "no_entry", "hydrant", "hydrant", "bin", "tree", "tree"]))
        col = _pick(rng, ((200, 30, 30), (40, 80, 160), (40, 110, 60), (90, 90, 90)), 10.0)
        x = road.sidewalk_x(rng)
        props.append(Prop(x, float(rng.uniform(6.0, 40.0)), prop_kind, col, seed=int(rng.integers(2**31))))
    for z in np.arange(float(rng.uniform(4.0, 14.0)), 140.0, float(rng.uniform(18.0, 30.0))):
        x = (road.right + 0.3) if rng.random() < 0.5 else (road.left - 0.3)
        props.append(Prop(x, float(z), "streetlight"))
    if rng.random() < 0.4:
        props.append(
            Prop(road.right + 0.5, float(rng.uniform(12.0, 30.0)), "traffic_light", state=int(rng.integers(3)))
        )
    return props


def _clouds(rng: np.random.Generator, cam: StreetCamera) -> list[tuple[float, float, float, float]]:
    """A few clouds (x, y, rx, ry) in reference pixels, above the horizon."""
    w, h = cam.ref_size
    clouds: list[tuple[float, float, float, float]] = []
    for _ in range(int(rng.integers(0, 5))):
        clouds.append(
            (
                float(rng.uniform(0, w)),
                float(rng.uniform(0.05, 0.8) * cam.horizon),
                float(rng.uniform(0.05, 0.15) * w),
                float(rng.uniform(0.015, 0.04) * h),
            )
        )
    return clouds


def random_layout(
    rng: np.random.Generator,
    ref_size: Size,
    night: bool,
    ego_speed: float = 0.0,
) -> StreetLayout:
    """A random street at day or night; ``ego_speed`` (m/s) drives the camera along it for bags.

    The draws from ``rng`` happen in a fixed order (camera, conditions, road, people,
    traffic, parked cars, street furniture, clouds, surfaces): the same seed gives the same street.
    """
    cam = _random_camera(rng, ref_size)
    cond = random_conditions(rng, night)
    road, facades = _random_road(rng)
    actors = _pedestrians(rng, road, cam, cond, night)
    actors += _traffic(rng, road, ego_speed)
    actors += _parked_cars(rng, road)
    actors += _street_furniture(rng, road)
    clouds = _clouds(rng, cam)
    return StreetLayout(
        camera=cam,
        conditions=cond,
        road=(road.left, road.right),
        sidewalk=road.sidewalk,
        facades=facades,
        actors=tuple(actors),
        clouds=tuple(clouds),
        ego_speed=ego_speed,
        dash_phase=float(rng.uniform(0, 9.0)),
        asphalt=_pick(rng, ((72, 72, 76), (58, 58, 60), (95, 94, 92)), 6.0),
        sidewalk_rgb=_pick(rng, ((165, 162, 156), (190, 180, 165), (140, 140, 145)), 8.0),
        verge_rgb=_pick(rng, ((70, 110, 50), (120, 105, 80), (90, 125, 60)), 8.0),
    )
