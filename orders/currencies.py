"""ISO 4217 currencies and their minor-unit exponents (the "E" column of the ISO list).

A small table kept here rather than a dependency: pycountry has the codes but no exponents, and
Babel's CLDR digits differ from ISO 4217 for a few currencies (IQD is 3 in ISO, 0 in CLDR). Codes
are stored lower-case, as Stripe writes them; amounts are integers in the minor unit, so JPY 500 is
¥500 and KWD 1500 is 1.500 KD. Funds codes and metals (XAU, XDR, ...) have no minor unit and are absent.
"""

from __future__ import annotations

_EXPONENT_0 = "bif clp djf gnf isk jpy kmf krw pyg rwf ugx uyi vnd vuv xaf xof xpf"
_EXPONENT_3 = "bhd iqd jod kwd lyd omr tnd"
_EXPONENT_4 = "clf uyw"
_EXPONENT_2 = (
    "aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob bov brl bsd btn bwp byn bzd cad cdf "
    "che chf chw cny cop cou crc cuc cup cve czk dkk dop dzd egp ern etb eur fjd fkp gbp gel ghs gip gmd gtq "
    "gyd hkd hnl htg huf idr ils inr irr jmd kes kgs khr kpw kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk "
    "mnt mop mru mur mvr mwk mxn mxv myr mzn nad ngn nio nok npr nzd pab pen pgk php pkr pln qar ron rsd rub "
    "sar sbd scr sdg sek sgd shp sle sll sos srd ssp stn svc syp szl thb tjs tmt top try ttd twd tzs uah usd "
    "usn uyu uzs ved ves wst xcd xcg yer zar zmw zwg zwl"
)

EXPONENTS: dict[str, int] = {
    code: exponent
    for exponent, codes in ((0, _EXPONENT_0), (2, _EXPONENT_2), (3, _EXPONENT_3), (4, _EXPONENT_4))
    for code in codes.split()
}
CURRENCY_CODES: tuple[str, ...] = tuple(sorted(EXPONENTS))


def currency_normalise(code: object) -> str | None:
    """The lower-case ISO 4217 code for `code` (any case), or None when it is not a currency we know."""
    if not isinstance(code, str):
        return None
    lowered = code.strip().lower()
    return lowered if lowered in EXPONENTS else None


def currency_exponent(code: str) -> int:
    return EXPONENTS[code.lower()]


def amount_format(amount: int, currency: str) -> str:
    """Minor units as a plain decimal string in the currency's exponent: 2500 usd -> "25.00", 500 jpy -> "500"."""
    exponent = currency_exponent(currency)
    sign = "-" if amount < 0 else ""
    digits = str(abs(amount))
    if exponent == 0:
        return sign + digits
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"
