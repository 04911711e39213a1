#!/usr/bin/env python3
"""Writes action/src/country_names.rs: the names a country is written by in
exports, folded for lookup, with its ISO 3166-1 alpha-2 code.

Sources, both maintained data sets:
- pycountry (Debian's iso-codes): ISO 3166-1 short names as ISO and
  spreadsheets write them ("Congo, The Democratic Republic of the", "Korea,
  Democratic People's Republic of", "Taiwan, Province of China"), official
  names ("French Republic", "Swiss Confederation") and common names;
- Babel (Unicode CLDR): each country's name in English and in each of its
  official languages ("Brasil", "Nederland", "Schweiz", "Österreich",
  "Éire", "Россия", "日本"), then in the languages of the markets whose
  CRMs write a foreign customer's country in their own words
  ("Frankreich", "Estados Unidos", "Verenigde Staten", "アメリカ合衆国");
- pycountry's translations of the ISO names into each country's official
  languages, as its people write its formal name ("Česká republika",
  "Rzeczpospolita Polska", "Bundesrepublik Deutschland", "Российская
  Федерация", "中华人民共和国", "中華民國"), after the market languages.

A folded name that names two countries is left out: a guess is worse than
no country. A market language's name never takes the place of a name from
the first sources, nor makes one of them ambiguous.

The table is one string of entries, each a folded name followed by its
alpha-2 code, and the offset where each starts: 16 bits an entry where a
slice of pairs would take 64 in the component. Run: python3 -m venv venv && venv/bin/pip install pycountry babel
&& venv/bin/python action/data/country_names.py
"""
import gettext
import pathlib
import unicodedata

import babel
import pycountry
from babel.core import get_global


def fold(name):
    """As regions::fold: NFC, lowercase, letters and their combining marks."""
    lower = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).lower())
    return "".join(c for c in lower if unicodedata.category(c)[0] in "LM")


# Translations in iso-codes that name another country or no country: the
# Nepali for Nepal's formal name is Ethiopia's, the Amharic for
# Ethiopia's is not a word.
WRONG_TRANSLATIONS = {"संघीयप्रजातन्त्रिकगणराज्यईथोपिया", "ጒትጵ"}

# The languages of the markets, beside English and each country's own.
MARKETS = ["de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "nb", "fi", "tr",
           "ru", "ja", "zh", "ko", "ar"]


def iso_names(country):
    """The country's ISO names: short, and official and common where it has them."""
    names = {country.name}
    for attr in ("official_name", "common_name"):
        if getattr(country, attr, None):
            names.add(getattr(country, attr))
    return names


def official_languages(territory_languages, code):
    """The languages official in the country with alpha-2 `code`."""
    return [
        lang
        for lang, info in territory_languages.get(code, {}).items()
        if info.get("official_status") in ("official", "de_facto_official")
    ]


def main():
    territory_languages = get_global("territory_languages")
    names = {}
    for country in pycountry.countries:
        code = country.alpha_2
        written = iso_names(country)
        languages = ["en"] + official_languages(territory_languages, code)
        for lang in languages:
            try:
                locale = babel.Locale.parse(lang)
            except (babel.UnknownLocaleError, ValueError):
                continue
            name = locale.territories.get(code)
            if name:
                written.add(name)
        for name in written:
            key = fold(name)
            if len(key) > 1:
                names.setdefault(key, set()).add(code)
    in_markets = {}
    for lang in MARKETS:
        locale = babel.Locale.parse(lang)
        for country in pycountry.countries:
            name = locale.territories.get(country.alpha_2)
            key = fold(name) if name else ""
            if len(key) > 1 and key not in names:
                in_markets.setdefault(key, set()).add(country.alpha_2)
    names.update(in_markets)
    in_own = {}
    for country in pycountry.countries:
        code = country.alpha_2
        english = iso_names(country)
        for lang in official_languages(territory_languages, code):
            base = lang.split("_")[0]
            translation = gettext.translation(
                "iso3166-1",
                pycountry.LOCALES_DIR,
                languages=[f"{base}_{code}", base],
                fallback=True,
            )
            for name in english:
                key = fold(translation.gettext(name))
                if len(key) > 1 and key not in names and key not in WRONG_TRANSLATIONS:
                    in_own.setdefault(key, set()).add(code)
    names.update(in_own)
    entries = sorted(
        ((k, next(iter(v))) for k, v in names.items() if len(v) == 1),
        key=lambda e: e[0].encode(),
    )
    starts, at = [], 0
    for name, code in entries:
        starts.append(at)
        at += len(name.encode()) + len(code)
    starts.append(at)
    assert at < 1 << 16, "the offsets are 16 bits"
    out = pathlib.Path(__file__).resolve().parent.parent / "src" / "country_names.rs"
    lines = [
        "//! Generated by `action/data/country_names.py` from pycountry (ISO 3166-1",
        "//! and its translations) and Babel (Unicode CLDR): folded names (see `regions::fold`) and the",
        "//! ISO alpha-2 code they name, sorted by their UTF-8 bytes. Do not edit.",
        "",
        "/// Every folded name followed by the alpha-2 code it names, one after",
        "/// another, sorted by the names' UTF-8 bytes.",
        "pub(crate) static ENTRIES: &str = concat!(",
    ]
    lines += [f'    "{k}{v}",' for k, v in entries]
    lines += [");", "", "/// Where each entry of [`ENTRIES`] starts, and its end.",
              "pub(crate) static STARTS: &[u16] = &["]
    lines += ["    " + ", ".join(str(x) for x in starts[i:i + 12]) + "," for i in range(0, len(starts), 12)]
    lines += ["];", ""]
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(entries)} names of {len(pycountry.countries)} countries written to {out}")


if __name__ == "__main__":
    main()
