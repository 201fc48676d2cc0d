"""How catalog data reads on the storefront: short display titles for product cards, spec
values with their units, and whether a product's model name adds anything to its title.

Pure functions over plain values (the product dicts of ``shop.catalog.schemas``); the
templates reach them as filters (``shop.templating``).
"""

from __future__ import annotations

import re

#: Longest display title on a product card, in characters (two lines of a card at 1280 px;
#: the card clamps to two lines in CSS as well, so a long word never pushes the price).
DISPLAY_TITLE_MAX = 64

# Icecat states each numeric feature in one fixed unit per feature (icecat.biz feature
# definitions: dimensions in millimetres, weights in grams, cable lengths in metres, signal
# frequencies in MHz, ...). The importer keeps the number only, under a readable name, so
# the unit is put back here by that name. Checked in order; the first match wins. A name
# whose unit the source does not fix (memory sizes: MB or GB) gets none.
_UNITS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), unit)
    for pattern, unit in (
        (r"weight \(imperial\)$", "lb"),
        (r"\(imperial\)$", "in"),
        (r"^media weight$", "g/m²"),
        (r"weight capacity$", "kg"),
        (r"^battery capacity \(watt hours\)$", "Wh"),
        (r"^battery capacity$", "mAh"),
        (r"^battery voltage$", "V"),
        (r"weight$", "g"),
        (r"^cable length$", "m"),
        (r"(width|depth|height|length|diameter)$", "mm"),
        (r"^processor boost frequency$", "GHz"),
        (r"(^frequency$|clock speed$|front side bus$)", "MHz"),
        (r"(display diagonal|screen size compatibility)$", "″"),
        (r"(thermal design power|power consumption|^output power$|adapter power$)", "W"),
        (r"^output power capacity$", "VA"),
        (r"^(processor cache|cache memory)$", "MB"),
        (r"lithography$", "nm"),
        (r"data transfer rate$", "Mbit/s"),
        (r"^response time$", "ms"),
        (r"^viewing angle", "°"),
        (r"(operating temperature|^tcase)$", "°C"),
        (r"backup time at (full|half) load$", "min"),
        (r"\(mtbf\)$", "h"),
        (r"^print speed", "ppm"),
        (r"page yield$", "pages"),
        (r"ink volume$", "ml"),
        (r"^ssd capacity$", "GB"),
        (r"^surge energy rating$", "J"),
        (r"die size$", "mm²"),
    )
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def spec_unit(name: str, value) -> str:
    """The unit of a numeric spec ``value`` called ``name`` (``"m"`` for ``Cable length``),
    or ``""`` when the value is not a bare number or the name has no fixed unit.

    ``Processor frequency`` is stated in MHz by Icecat for old chips (400) and in GHz for
    newer ones (2.4): below 100 it is read as GHz.
    """
    text = str(value).strip()
    if not _NUMBER.match(text):
        return ""
    key = name.strip().lower()
    if key in ("processor frequency", "processor base frequency"):
        return "GHz" if float(text) < 100 else "MHz"
    for pattern, unit in _UNITS:
        if pattern.search(key):
            return unit
    return ""


def spec_value(name: str, value) -> str:
    """A spec as shown: the value with its unit (``"0.3 m"``, ``"550 MHz"``, ``"15.6″"``)."""
    text = str(value).strip()
    unit = spec_unit(name, text)
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("″", "°") else f"{text} {unit}"


def display_title(name: str, brand: str = "", limit: int = DISPLAY_TITLE_MAX) -> str:
    """A short title for a product card, derived from the Icecat title.

    The card shows the brand on its own line, so a title starting with the brand loses it
    ("StarTech.com DB9 RS232 Serial Null Modem Adapter - M/F" -> "DB9 RS232 Serial Null
    Modem Adapter - M/F"); then the title is cut at the last whole word within ``limit``
    characters, and a cut ends in "…". A title left starting in lower case gets a capital.
    Never empty: a title that is only the brand stays.
    """
    title = " ".join((name or "").split())
    brand = " ".join((brand or "").split())
    if brand and title.lower().startswith(brand.lower() + " "):
        title = title[len(brand) :].lstrip(" -–,:")
        title = title[:1].upper() + title[1:]  # "Acme network switch" -> "Network switch"
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" -–,:;/(") + "…"


def model_adds_to_title(model: str, title: str) -> bool:
    """Whether the model name says something the title does not already (the Icecat title
    usually contains it: "Model" repeating the title is noise). Compared without case and
    spacing."""

    def squash(text: str) -> str:
        return re.sub(r"\s+", " ", (text or "").strip().lower())

    model_text = squash(model)
    return bool(model_text) and model_text not in squash(title)
