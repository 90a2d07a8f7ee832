"""Synthetic identities: V-nummers with a check digit, names from small built-in lists, dates of birth.

No real persons: names are common given and family names combined at random. Partners spell names
differently (transliteration variants), which gives identity linking something to match on.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

GIVEN: dict[str, tuple[str, ...]] = {
    "arabisch": (
        "Mohammed",
        "Ahmad",
        "Ali",
        "Omar",
        "Yusuf",
        "Khaled",
        "Fatima",
        "Aisha",
        "Mariam",
        "Rania",
        "Hassan",
        "Ibrahim",
        "Layla",
        "Nour",
        "Samir",
        "Karim",
    ),
    "perzisch": (
        "Reza",
        "Ahmad",
        "Hamid",
        "Farid",
        "Zahra",
        "Maryam",
        "Parisa",
        "Ali",
        "Sima",
        "Javad",
        "Nasrin",
        "Mahmoud",
    ),
    "hoorn": (
        "Yonas",
        "Tesfay",
        "Semhar",
        "Helen",
        "Abdi",
        "Hodan",
        "Filmon",
        "Ruta",
        "Dawit",
        "Amina",
        "Mulugeta",
        "Saba",
    ),
    "turks": ("Mehmet", "Ayse", "Emre", "Zeynep", "Mustafa", "Elif", "Burak", "Fatma", "Hakan"),
    "westafrikaans": ("Chinedu", "Ngozi", "Emeka", "Blessing", "Tunde", "Adaeze", "Ifeanyi", "Joy"),
    "kaukasisch": ("Giorgi", "Nino", "Levan", "Tamar", "Ion", "Elena", "Vasile", "Natalia"),
}
FAMILY: dict[str, tuple[str, ...]] = {
    "arabisch": (
        "Al-Hassan",
        "Haddad",
        "Khalil",
        "Mansour",
        "Nasser",
        "Saleh",
        "Aziz",
        "Darwish",
        "Hamdan",
        "Qasim",
        "Rahman",
        "Suleiman",
        "Yousef",
        "Bakr",
        "Farouk",
        "Jaber",
    ),
    "perzisch": (
        "Ahmadi",
        "Hosseini",
        "Karimi",
        "Mohammadi",
        "Rahimi",
        "Rezaei",
        "Sultani",
        "Noori",
        "Hashimi",
        "Jafari",
    ),
    "hoorn": (
        "Tesfamariam",
        "Gebremedhin",
        "Haile",
        "Mohamed",
        "Warsame",
        "Abdullahi",
        "Kidane",
        "Berhane",
        "Yusuf",
        "Osman",
    ),
    "turks": ("Yilmaz", "Kaya", "Demir", "Sahin", "Celik", "Aydin", "Ozturk", "Arslan"),
    "westafrikaans": ("Okafor", "Adeyemi", "Eze", "Okonkwo", "Balogun", "Nwosu", "Obi"),
    "kaukasisch": ("Beridze", "Kapanadze", "Gelashvili", "Rusu", "Ciobanu", "Popescu", "Lomidze"),
}
# how a second partner may transliterate the same name
VARIANTS: dict[str, str] = {
    "Mohammed": "Mohamed",
    "Yusuf": "Youssef",
    "Khaled": "Khalid",
    "Aisha": "Aicha",
    "Hassan": "Hasan",
    "Ahmad": "Ahmed",
    "Omar": "Umar",
    "Mariam": "Maryam",
    "Al-Hassan": "Alhassan",
    "Haddad": "Hadad",
    "Hosseini": "Husseini",
    "Mohammadi": "Mohamadi",
    "Tesfay": "Tesfai",
    "Mohamed": "Mohammed",
    "Abdullahi": "Abdulahi",
    "Yilmaz": "Yılmaz",
    "Rezaei": "Rezai",
}


def vnummer_valid(value: str) -> bool:
    """True when a 10-digit V-nummer passes the weighted mod-11 check (weights 10..1).

    A single mistyped digit always breaks the check, so typos are detectable without a reference.
    """
    if len(value) != 10 or not value.isdigit():
        return False
    return sum(int(d) * w for d, w in zip(value, range(10, 0, -1), strict=True)) % 11 == 0


def make_vnummer(serial: int) -> str:
    """The V-nummer of the ``serial``-th foreigner: 9 digits from the serial plus a check digit."""
    # candidates serial*11+k are disjoint per serial, so V-nummers are unique up to 90 million
    for k in range(11):
        body = f"{((serial * 11 + k) * 7919 + 200_000_000) % 1_000_000_000:09d}"
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = (-total) % 11
        if check < 10:
            return body + str(check)
    raise AssertionError(f"no V-nummer for serial {serial}")  # pragma: no cover


def typo(value: str, rng: random.Random) -> str:
    """The V-nummer with one digit changed (always fails :func:`vnummer_valid`)."""
    pos = rng.randrange(len(value))
    digit = (int(value[pos]) + rng.randrange(1, 10)) % 10
    return value[:pos] + str(digit) + value[pos + 1 :]


def make_identity(rng: random.Random, group: str, start: date) -> tuple[str, str, date, str]:
    """Given name, family name, date of birth and sex ("M"/"V") for one synthetic person."""
    given = rng.choice(GIVEN[group])
    family = rng.choice(FAMILY[group])
    age_days = int(rng.triangular(1, 60, 24) * 365.25)
    return given, family, start - timedelta(days=age_days), rng.choice("MV")


def variant(name: str) -> str:
    """Another partner's spelling of a name, or the name itself."""
    return VARIANTS.get(name, name)
