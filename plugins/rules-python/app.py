"""Example indemnity rule set in Python, « Indemnité horaire (exemple Python) ».

Pays an hourly rate for the time the attendee actually spent in the meeting (rounded
down to the cent), capped per meeting. External guests, non-adhérents and other or
unknown exercise modes are not paid; salaried professionals only when their employer has
a convention with the structure (and the structure says so).

World `maillage:indemnity/rule-set` of wit/indemnity/v0.1.0, built with componentize-py
(see build.sh). A rule set is a pure function of its arguments: no clock, no randomness,
no I/O, integer arithmetic only. The component's WASI imports are stubbed out at build
time (`--stub-wasi`), so it imports nothing, as the host requires.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.rules import (
    Attendee,
    Description,
    ExerciseMode,
    GroupRole,
    Meeting,
    Outcome,
    Outcome_Eligible,
    Outcome_NotEligible,
    Payment,
    Setting,
    SettingDef,
    SettingKind_Boolean,
    SettingKind_Cents,
    SettingValue_Boolean,
    SettingValue_Cents,
)

ID = "horaire"
VERSION = "1.0.0"

TAUX_HORAIRE = "taux_horaire"
PLAFOND_REUNION = "plafond_reunion"
SALARIES_SOUS_CONVENTION = "salaries_sous_convention"

# Reasons, as the member and the treasurer read them.
INVITE_EXTERNE = "Invité externe : non indemnisé"
NON_ADHERENT = "Non adhérent à la date de la réunion"
SALARIE_SANS_CONVENTION = "Salarié sans convention avec l'employeur"
MODE_AUTRE = "Mode d'exercice non indemnisé (ni libéral, ni salarié)"
MODE_INCONNU = "Mode d'exercice non renseigné"


def describe() -> Description:
    return Description(
        id=ID,
        version=VERSION,
        name="Indemnité horaire (exemple Python)",
        summary=(
            "Un taux horaire appliqué au temps de présence à la réunion, plafonné par "
            "réunion : par défaut 50 € de l'heure, au plus 200 €. Les salariés sont "
            "indemnisés si leur employeur a signé une convention avec la structure ; les "
            "non-adhérents et les invités externes ne le sont pas."
        ),
        settings=[
            SettingDef(
                key=TAUX_HORAIRE,
                label="Taux horaire",
                help="Montant versé pour une heure de présence (au prorata, arrondi au centime inférieur).",
                kind=SettingKind_Cents(),
                default=SettingValue_Cents(5000),
                min=0,
                max=50000,
            ),
            SettingDef(
                key=PLAFOND_REUNION,
                label="Plafond par réunion",
                help="Montant maximal versé pour une réunion, quelle que soit sa durée.",
                kind=SettingKind_Cents(),
                default=SettingValue_Cents(20000),
                min=0,
                max=200000,
            ),
            SettingDef(
                key=SALARIES_SOUS_CONVENTION,
                label="Indemniser les salariés sous convention",
                help=(
                    "Un professionnel salarié est indemnisé, au même taux, si son employeur "
                    "a signé une convention avec la structure."
                ),
                kind=SettingKind_Boolean(),
                default=SettingValue_Boolean(True),
                min=None,
                max=None,
            ),
        ],
    )


def compute(meeting: Meeting, attendee: Attendee, settings: list[Setting]) -> Outcome:
    """What this attendee gets; raises Err(French message) when the settings are unusable."""
    taux = _cents(settings, TAUX_HORAIRE)
    plafond = _cents(settings, PLAFOND_REUNION)
    salaries = _flag(settings, SALARIES_SOUS_CONVENTION)
    if taux < 0 or plafond < 0:
        raise Err("Le taux horaire et le plafond ne peuvent pas être négatifs")

    if attendee.role == GroupRole.GUEST or attendee.person_id is None:
        return Outcome_NotEligible(INVITE_EXTERNE)
    if not attendee.adherent:
        return Outcome_NotEligible(NON_ADHERENT)
    mode = attendee.exercise_mode
    if mode == ExerciseMode.SALARIE:
        if not (salaries and attendee.employer_convention):
            return Outcome_NotEligible(SALARIE_SANS_CONVENTION)
    elif mode == ExerciseMode.AUTRE:
        return Outcome_NotEligible(MODE_AUTRE)
    elif mode == ExerciseMode.INCONNU:
        return Outcome_NotEligible(MODE_INCONNU)

    minutes = attendee.minutes
    amount = taux * minutes // 60
    rationale = f"{duration(minutes)} à {euros(taux)} de l'heure : {euros(amount)}"
    if amount > plafond:
        amount = plafond
        rationale += f", plafonné à {euros(plafond)} par réunion"
    return Outcome_Eligible(Payment(cents=amount, minutes=minutes, rationale=rationale))


class Rules(exports.Rules):
    """The exported `rules` interface (componentize-py looks for this class name)."""

    def describe(self) -> Description:
        return describe()

    def compute(self, meeting: Meeting, attendee: Attendee, settings: list[Setting]) -> Outcome:
        return compute(meeting, attendee, settings)


# ---------------------------------------------------------------------------------------
# Reading settings: the host passes every declared setting (defaults filled in), so a
# missing one or one of another kind means the caller is broken: an error, not a guess.


def _value(settings: list[Setting], key: str):
    for setting in settings:
        if setting.key == key:
            return setting.value
    raise Err(f"Réglage « {key} » manquant")


def _cents(settings: list[Setting], key: str) -> int:
    value = _value(settings, key)
    if not isinstance(value, SettingValue_Cents):
        raise Err(f"Réglage « {key} » : un montant était attendu")
    return value.value


def _flag(settings: list[Setting], key: str) -> bool:
    value = _value(settings, key)
    if not isinstance(value, SettingValue_Boolean):
        raise Err(f"Réglage « {key} » : oui ou non était attendu")
    return value.value


# ---------------------------------------------------------------------------------------
# French formatting, as the Rust SDK's `euros` and `duration` (maillage-rules).


def euros(cents: int) -> str:
    """ "80 €", "82,50 €", "1 200 €", "-5 €" (cents shown only when there are some)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    grouped = f"{whole:,}".replace(",", " ")
    if rest == 0:
        return f"{sign}{grouped} €"
    return f"{sign}{grouped},{rest:02} €"


def duration(minutes: int) -> str:
    """ "45 min", "2 h", "1 h 30"."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    if hours == 0:
        return f"{sign}{abs(minutes)} min"
    if rest == 0:
        return f"{sign}{hours} h"
    return f"{sign}{hours} h {rest:02}"
