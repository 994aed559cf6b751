"""Where the simulated portfolio lives and how its identities look.

Cities, ports and farmland in China with their GB/T 2260 region codes, plate
prefixes, equipment makers, and generators for identities that pass their
own check digits (VIN per ISO 3779, IMO numbers), so a registry importer
that validates them accepts the simulated fleet.
"""

from __future__ import annotations

import random
from typing import Final

# (region code, city, lat, lon)
CITIES: Final = (
    ("CN-31", "Shanghai", 31.23, 121.47),
    ("CN-32", "Suzhou", 31.30, 120.58),
    ("CN-33", "Hangzhou", 30.27, 120.15),
    ("CN-37", "Jinan", 36.65, 117.12),
    ("CN-44", "Guangzhou", 23.13, 113.26),
    ("CN-51", "Chengdu", 30.66, 104.06),
    ("CN-13", "Shijiazhuang", 38.04, 114.51),
    ("CN-41", "Zhengzhou", 34.75, 113.62),
)
PORTS: Final = (
    ("CN-31", "Yangshan", 30.62, 122.07),
    ("CN-33", "Ningbo-Zhoushan", 29.93, 121.85),
    ("CN-37", "Qingdao", 36.07, 120.32),
    ("CN-35", "Xiamen", 24.45, 118.07),
    ("CN-44", "Yantian", 22.57, 114.27),
    ("CN-21", "Dalian", 38.93, 121.65),
    ("CN-33", "Shenjiamen", 29.95, 122.30),
)
FARMLAND: Final = (
    ("CN-15", "Hohhot", 40.84, 111.75),
    ("CN-23", "Harbin", 45.75, 126.65),
    ("CN-37", "Liaocheng", 36.45, 115.98),
    ("CN-65", "Changji", 44.01, 87.30),
)
PLATE_PREFIX: Final = {
    "CN-31": "沪",
    "CN-32": "苏",
    "CN-33": "浙",
    "CN-37": "鲁",
    "CN-44": "粤",
    "CN-51": "川",
    "CN-13": "冀",
    "CN-41": "豫",
}
OEMS: Final = {
    "excavator": (("SANY", "SY215C"), ("XCMG", "XE215DA"), ("Caterpillar", "320GC")),
    "generator": (("Cummins", "C500D5"), ("Weichai", "WPG550")),
    "production": (("Haitian", "MA3800"), ("Yizumi", "UN1300A5")),
}
INDUSTRY: Final = {
    "vehicle": ("logistics", "vehicle_loan"),
    "ship": ("shipping", "ship_mortgage"),
    "farm": ("livestock", "livestock_loan"),
    "equipment": ("construction", "equipment_loan"),
}
SURNAMES: Final = ("Huadong", "Xinda", "Hengtai", "Jinhai", "Longsheng", "Ruifeng", "Zhongcheng")
SUFFIX: Final = {
    "vehicle": "Logistics",
    "ship": "Shipping",
    "farm": "Pastoral",
    "equipment": "Construction",
}
OFFICERS: Final = ("li.wei", "wang.fang", "zhang.min", "liu.yang", "chen.jie")
_VIN_VALUES: Final = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS: Final = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_CHARS: Final = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def vin_with_check_digit(rng: random.Random) -> str:
    """A 17-character VIN with a valid ISO 3779 / North-American check digit."""
    wmi = rng.choice(("LFW", "LZZ", "LGA", "LZG"))
    body = [*wmi, *(rng.choice(_VIN_CHARS) for _ in range(5)), "0", "T", "1"]
    body += [str(rng.randrange(10)) for _ in range(6)]
    total = sum(_VIN_VALUES[c] * w for c, w in zip(body, _VIN_WEIGHTS, strict=True))
    check = total % 11
    body[8] = "X" if check == 10 else str(check)
    return "".join(body)


def imo_number(rng: random.Random) -> str:
    """A 7-digit IMO number whose last digit is its check digit."""
    digits = [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(5)]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
    return "".join(map(str, digits)) + str(check)
