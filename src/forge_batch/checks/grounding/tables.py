"""Small tables of standard names and codes, for normalizations a rule can check.

Deliberately small: the common places, qualifiers and codes a tool call writes in
their standard form ("New York" -> "New York, NY", "dollars" -> "USD"). A value
outside these tables is not accepted by them; it stays a doubt for the judge.
All keys are casefolded.
"""

from __future__ import annotations

# US states: abbreviation -> name.
STATES: dict[str, str] = {
    "al": "alabama", "ak": "alaska", "az": "arizona", "ar": "arkansas", "ca": "california",
    "co": "colorado", "ct": "connecticut", "de": "delaware", "fl": "florida", "ga": "georgia",
    "hi": "hawaii", "id": "idaho", "il": "illinois", "in": "indiana", "ia": "iowa",
    "ks": "kansas", "ky": "kentucky", "la": "louisiana", "me": "maine", "md": "maryland",
    "ma": "massachusetts", "mi": "michigan", "mn": "minnesota", "ms": "mississippi",
    "mo": "missouri", "mt": "montana", "ne": "nebraska", "nv": "nevada",
    "nh": "new hampshire", "nj": "new jersey", "nm": "new mexico", "ny": "new york",
    "nc": "north carolina", "nd": "north dakota", "oh": "ohio", "ok": "oklahoma",
    "or": "oregon", "pa": "pennsylvania", "ri": "rhode island", "sc": "south carolina",
    "sd": "south dakota", "tn": "tennessee", "tx": "texas", "ut": "utah", "vt": "vermont",
    "va": "virginia", "wa": "washington", "wv": "west virginia", "wi": "wisconsin",
    "wy": "wyoming", "dc": "district of columbia",
}  # fmt: skip

# Countries: name -> (ISO 3166 alpha-2, other names).
COUNTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "united states": ("us", ("usa", "u.s.", "u.s.a.", "america", "united states of america")),
    "united kingdom": ("gb", ("uk", "u.k.", "britain", "great britain", "england")),
    "canada": ("ca", ()), "mexico": ("mx", ()), "brazil": ("br", ()),
    "argentina": ("ar", ()), "france": ("fr", ()), "germany": ("de", ()),
    "spain": ("es", ()), "italy": ("it", ()), "portugal": ("pt", ()),
    "netherlands": ("nl", ("holland", "the netherlands")), "belgium": ("be", ()),
    "switzerland": ("ch", ()), "austria": ("at", ()), "sweden": ("se", ()),
    "norway": ("no", ()), "denmark": ("dk", ()), "finland": ("fi", ()),
    "ireland": ("ie", ()), "poland": ("pl", ()), "greece": ("gr", ()),
    "turkey": ("tr", ("türkiye",)), "israel": ("il", ()), "egypt": ("eg", ()),
    "south africa": ("za", ()), "nigeria": ("ng", ()), "kenya": ("ke", ()),
    "india": ("in", ()), "china": ("cn", ()), "japan": ("jp", ()),
    "south korea": ("kr", ("korea",)), "singapore": ("sg", ()), "thailand": ("th", ()),
    "vietnam": ("vn", ()), "indonesia": ("id", ()), "australia": ("au", ()),
    "new zealand": ("nz", ()), "russia": ("ru", ()), "ukraine": ("ua", ()),
    "czech republic": ("cz", ("czechia",)), "hungary": ("hu", ()),
    "united arab emirates": ("ae", ("uae",)), "saudi arabia": ("sa", ()),
    "chile": ("cl", ()), "colombia": ("co", ()), "peru": ("pe", ()),
}  # fmt: skip

# Cities: name -> the qualifiers that may follow it (state, country; names and codes).
_US = ("us", "usa", "united states", "u.s.", "america")
CITIES: dict[str, tuple[str, ...]] = {}
for _city, _state in (
    ("new york", "ny"),
    ("new york city", "ny"),
    ("los angeles", "ca"),
    ("san francisco", "ca"),
    ("san diego", "ca"),
    ("san jose", "ca"),
    ("sacramento", "ca"),
    ("chicago", "il"),
    ("houston", "tx"),
    ("dallas", "tx"),
    ("austin", "tx"),
    ("san antonio", "tx"),
    ("phoenix", "az"),
    ("philadelphia", "pa"),
    ("pittsburgh", "pa"),
    ("seattle", "wa"),
    ("portland", "or"),
    ("denver", "co"),
    ("boston", "ma"),
    ("miami", "fl"),
    ("orlando", "fl"),
    ("tampa", "fl"),
    ("atlanta", "ga"),
    ("las vegas", "nv"),
    ("detroit", "mi"),
    ("minneapolis", "mn"),
    ("nashville", "tn"),
    ("memphis", "tn"),
    ("new orleans", "la"),
    ("baltimore", "md"),
    ("salt lake city", "ut"),
    ("cleveland", "oh"),
    ("columbus", "oh"),
    ("kansas city", "mo"),
    ("st. louis", "mo"),
    ("charlotte", "nc"),
    ("raleigh", "nc"),
    ("honolulu", "hi"),
    ("anchorage", "ak"),
    ("washington", "dc"),
    ("albuquerque", "nm"),
    ("indianapolis", "in"),
):
    CITIES[_city] = (_state, STATES[_state], *_US)
for _city, _country in (
    ("london", "united kingdom"),
    ("manchester", "united kingdom"),
    ("edinburgh", "united kingdom"),
    ("paris", "france"),
    ("lyon", "france"),
    ("marseille", "france"),
    ("nice", "france"),
    ("berlin", "germany"),
    ("munich", "germany"),
    ("hamburg", "germany"),
    ("frankfurt", "germany"),
    ("madrid", "spain"),
    ("barcelona", "spain"),
    ("rome", "italy"),
    ("milan", "italy"),
    ("venice", "italy"),
    ("florence", "italy"),
    ("lisbon", "portugal"),
    ("amsterdam", "netherlands"),
    ("brussels", "belgium"),
    ("zurich", "switzerland"),
    ("geneva", "switzerland"),
    ("vienna", "austria"),
    ("stockholm", "sweden"),
    ("oslo", "norway"),
    ("copenhagen", "denmark"),
    ("helsinki", "finland"),
    ("dublin", "ireland"),
    ("warsaw", "poland"),
    ("prague", "czech republic"),
    ("budapest", "hungary"),
    ("athens", "greece"),
    ("istanbul", "turkey"),
    ("tel aviv", "israel"),
    ("jerusalem", "israel"),
    ("cairo", "egypt"),
    ("cape town", "south africa"),
    ("johannesburg", "south africa"),
    ("lagos", "nigeria"),
    ("nairobi", "kenya"),
    ("mumbai", "india"),
    ("delhi", "india"),
    ("new delhi", "india"),
    ("bangalore", "india"),
    ("beijing", "china"),
    ("shanghai", "china"),
    ("tokyo", "japan"),
    ("osaka", "japan"),
    ("kyoto", "japan"),
    ("seoul", "south korea"),
    ("singapore", "singapore"),
    ("bangkok", "thailand"),
    ("hanoi", "vietnam"),
    ("jakarta", "indonesia"),
    ("sydney", "australia"),
    ("melbourne", "australia"),
    ("auckland", "new zealand"),
    ("moscow", "russia"),
    ("kyiv", "ukraine"),
    ("dubai", "united arab emirates"),
    ("toronto", "canada"),
    ("vancouver", "canada"),
    ("montreal", "canada"),
    ("mexico city", "mexico"),
    ("sao paulo", "brazil"),
    ("são paulo", "brazil"),
    ("rio de janeiro", "brazil"),
    ("buenos aires", "argentina"),
    ("santiago", "chile"),
    ("bogota", "colombia"),
    ("lima", "peru"),
):
    _code, _other = COUNTRIES[_country]
    CITIES[_city] = (_country, _code, *_other)
for _city, _province in (("toronto", "on"), ("vancouver", "bc"), ("montreal", "qc")):
    CITIES[_city] = (*CITIES[_city], _province)

# Codes and the names people say for them: code -> names (all casefolded).
ALIASES: dict[str, tuple[str, ...]] = {
    # airports and city nicknames -> the city
    "jfk": ("new york",), "lga": ("new york",), "ewr": ("newark",), "nyc": ("new york",),
    "lax": ("los angeles",), "la": ("los angeles", "louisiana"), "sfo": ("san francisco",),
    "sf": ("san francisco",), "ord": ("chicago",), "atl": ("atlanta",), "dfw": ("dallas",),
    "sea": ("seattle",), "bos": ("boston",), "mia": ("miami",), "den": ("denver",),
    "las": ("las vegas",), "iad": ("washington",), "dca": ("washington",),
    "lhr": ("london",), "lgw": ("london",), "cdg": ("paris",), "ory": ("paris",),
    "fra": ("frankfurt",), "ams": ("amsterdam",), "mad": ("madrid",), "fco": ("rome",),
    "nrt": ("tokyo",), "hnd": ("tokyo",), "sin": ("singapore",), "syd": ("sydney",),
    "dxb": ("dubai",), "tlv": ("tel aviv",), "yyz": ("toronto",), "hkg": ("hong kong",),
    # currencies
    "usd": ("dollar", "dollars", "us dollar", "us dollars", "$", "bucks"),
    "eur": ("euro", "euros", "€"), "gbp": ("pound", "pounds", "sterling", "£", "quid"),
    "jpy": ("yen", "¥"), "cny": ("yuan", "renminbi", "rmb"), "inr": ("rupee", "rupees", "₹"),
    "chf": ("swiss franc", "swiss francs", "franc", "francs"),
    "cad": ("canadian dollar", "canadian dollars"),
    "aud": ("australian dollar", "australian dollars"), "mxn": ("peso", "pesos"),
    "krw": ("won",), "brl": ("real", "reais"), "sek": ("krona", "kronor"),
    "btc": ("bitcoin",), "eth": ("ether", "ethereum"),
    # stock tickers
    "aapl": ("apple",), "msft": ("microsoft",), "googl": ("google", "alphabet"),
    "goog": ("google", "alphabet"), "amzn": ("amazon",), "tsla": ("tesla",),
    "meta": ("meta", "facebook"), "nvda": ("nvidia",), "nflx": ("netflix",),
    "ibm": ("ibm",), "intc": ("intel",), "amd": ("amd",), "orcl": ("oracle",),
    "crm": ("salesforce",), "adbe": ("adobe",), "dis": ("disney",),
    "ko": ("coca-cola", "coke", "korean"),
    "nke": ("nike",), "jpm": ("jpmorgan", "jp morgan"), "wmt": ("walmart",),
    "uber": ("uber",), "pypl": ("paypal",), "baba": ("alibaba",), "sbux": ("starbucks",),
    # languages (ISO 639-1)
    "en": ("english",), "fr": ("french",), "es": ("spanish",), "de": ("german",),
    "it": ("italian",), "pt": ("portuguese",), "nl": ("dutch",), "ja": ("japanese",),
    "zh": ("chinese", "mandarin"), "ru": ("russian",), "ar": ("arabic",),
    "hi": ("hindi",), "he": ("hebrew",), "tr": ("turkish",), "pl": ("polish",),
    "sv": ("swedish",),
    # units people say in words
    "celsius": ("°c", "centigrade", "degrees c"), "fahrenheit": ("°f", "degrees f"),
    "metric": ("celsius", "kilometers", "kilometres", "km"),
    "imperial": ("fahrenheit", "miles"),
    "km": ("kilometers", "kilometres", "kilometer", "kilometre"),
    "mi": ("miles", "mile"), "kg": ("kilograms", "kilos", "kilogram"), "lb": ("pounds",),
}  # fmt: skip
for _abbr, _name in STATES.items():
    ALIASES.setdefault(_abbr, (_name,))
for _name, (_code, _other) in COUNTRIES.items():
    ALIASES[_code] = (*ALIASES.get(_code, ()), _name, *_other)
    for _alias in _other:
        ALIASES.setdefault(_alias.replace(".", ""), (_name,))

# Every name a place qualifier may have (a state or a country, named or coded).
QUALIFIERS: frozenset[str] = frozenset(
    {*STATES, *STATES.values()}
    | {n for name, (code, other) in COUNTRIES.items() for n in (name, code, *other)}
    | {"on", "bc", "qc"}
)

# Words people use for common enum labels: label word (stemmed) -> words that name it.
ENUM_SYNONYMS: dict[str, frozenset[str]] = {
    "bicycling": frozenset({"bike", "bicycle", "cycle", "cycling", "biking"}),
    "cycling": frozenset({"bike", "bicycle", "biking"}),
    "walking": frozenset({"foot", "walk"}),
    "walk": frozenset({"foot"}),
    "driving": frozenset({"car", "drive"}),
    "drive": frozenset({"car"}),
    "transit": frozenset({"bus", "train", "subway", "metro", "tram"}),
    "pet": frozenset({"dog", "cat"}),
    "disabled": frozenset({"wheelchair", "disability", "accessible"}),
    "outdoor": frozenset({"outside", "outdoors", "terrace", "patio"}),
    "asc": frozenset({"ascending", "oldest", "lowest", "cheapest"}),
    "desc": frozenset({"descending", "newest", "highest", "latest"}),
}
