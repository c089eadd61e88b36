"""python tests/data/leak_fixture/make_leak_set.py

Writes ``leak_set.jsonl`` beside this file: the 30 questions of the bundled ``law_ec`` suite
planted in training records in the seven ways a real leak looks (one row of the table in
``tests/data/test_leak_fixture.py`` each, 30 records per row, 210 in all):

* ``exact``          the question copied as the instruction
* ``normalized``     lower-cased, accents and ``¿?¡!`` removed
* ``paraphrase``     a light hand paraphrase (an article or one word changed)
* ``prefix``         ``"Responde brevemente: " + question``
* ``suffix``         ``question + " Explica con un ejemplo."``
* ``in_input``       a generic instruction, the question in ``input``
* ``answer``         a generic instruction, the suite's reference answer copied as ``output``

Each record carries ``row`` and ``suite_id`` (the law_ec id it was made from), so a test can
count, per row, how many planted records the leak check attributes to their own question.
Deterministic: the output is the same on every run.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = HERE.parents[2] / "src" / "sftlab" / "assets" / "prompts" / "law_ec.jsonl"
OUT = HERE / "leak_set.jsonl"

ROWS = ("exact", "normalized", "paraphrase", "prefix", "suffix", "in_input", "answer")

# Light hand paraphrases, one per law_ec question (in file order): an article, a preposition,
# a verb form or one word changed, as a person copying a question "in their own words" would.
PARAPHRASES = {
    "simple-01": "¿Qué significan las siglas RUC?",
    "simple-02": "¿Qué entidad administra los impuestos internos en el Ecuador?",
    "simple-03": "¿Cuál es la tarifa general de IVA en el Ecuador?",
    "simple-04": "¿Qué es exactamente el RIMPE?",
    "simple-05": "¿Para qué sirve el noveno dígito de un RUC?",
    "simple-06": "¿Qué es la retención en la fuente?",
    "simple-07": "¿Qué es la factura electrónica?",
    "simple-08": "¿Qué comprobante de venta emiten los negocios populares en el RIMPE?",
    "simple-09": "¿En qué mes declaran las personas naturales el impuesto a la renta anual?",
    "simple-10": "¿Qué es el crédito tributario del IVA?",
    "simple-11": "¿Qué es el ICE en Ecuador?",
    "simple-12": "¿Qué grava el impuesto a la salida de divisas?",
    "simple-13": "¿Quiénes están obligados a llevar una contabilidad?",
    "simple-14": "¿Qué es la declaración sustitutiva?",
    "simple-15": "¿Qué documento certifica que un contribuyente está al día con el SRI?",
    "complex-01": (
        "Una persona que trabaja en relación de dependencia comienza a dar clases particulares "
        "los fines de semana. ¿Qué obligaciones tributarias tiene?"
    ),
    "complex-02": "Explica cómo se calcula el IVA a pagar en la declaración mensual.",
    "complex-03": "¿Qué consecuencias tiene presentar tarde la declaración de impuestos?",
    "complex-04": (
        "¿Qué diferencia existe entre los gastos deducibles de una actividad económica y los gastos "
        "personales de las personas naturales?"
    ),
    "complex-05": "¿Quién actúa como agente de retención y qué hace con los valores retenidos?",
    "complex-06": "Un emprendedor del RIMPE vende productos gravados con IVA. ¿Cómo cumple con este impuesto?",
    "complex-07": "¿Qué debe hacer el contribuyente que descubre un error en su declaración ya presentada?",
    "complex-08": "¿Cómo se trata el IVA en las exportaciones de bienes?",
    "complex-09": "¿Cómo funciona la devolución del IVA a los adultos mayores?",
    "complex-10": (
        "Una sociedad ecuatoriana distribuye dividendos a sus accionistas, personas naturales "
        "residentes. ¿Qué aspectos tributarios hay que considerar?"
    ),
    "complex-11": "¿Qué obligaciones tributarias tiene la persona que recibe una herencia en Ecuador?",
    "complex-12": (
        "¿En qué plazo prescribe la acción de cobro de obligaciones tributarias, según el Código Tributario?"
    ),
    "complex-13": "¿Cómo se calcula el impuesto a la renta de los trabajadores en relación de dependencia?",
    "complex-14": "Compara el impuesto a la renta de las sociedades con el de las personas naturales.",
    "complex-15": (
        "Un contribuyente recibe una notificación del SRI por diferencias en su declaración. ¿Qué opciones tiene?"
    ),
}

# Instructions that carry nothing of the question (rows in_input and answer).
GENERIC = (
    "Responde la siguiente pregunta sobre tributación en Ecuador.",
    "Explica este tema tributario en pocas líneas.",
    "Resume la norma en lenguaje sencillo para un contribuyente.",
    "Escribe una respuesta breve y clara.",
    "Contesta como lo haría un asesor tributario.",
)


def strip_accents_and_marks(text: str) -> str:
    """Lower-case, accents and Spanish question/exclamation marks removed."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return "".join(ch for ch in text if ch not in "¿?¡!").strip()


def planted(row: str, i: int, item: dict) -> dict:
    """The training record of ``row`` made from suite item ``item`` (the ``i``-th)."""
    q, ref = item["prompt"], item["reference"]
    answer = f"Respuesta redactada para la prueba de fugas número {i + 1}: consulte la norma vigente."
    instruction, inp, output = q, "", answer
    if row == "normalized":
        instruction = strip_accents_and_marks(q)
    elif row == "paraphrase":
        instruction = PARAPHRASES[item["id"]]
    elif row == "prefix":
        instruction = "Responde brevemente: " + q
    elif row == "suffix":
        instruction = q + " Explica con un ejemplo."
    elif row == "in_input":
        instruction, inp = GENERIC[i % len(GENERIC)], q
    elif row == "answer":
        instruction, output = GENERIC[(i + 1) % len(GENERIC)], ref
    return {"row": row, "suite_id": item["id"], "instruction": instruction, "input": inp, "output": output}


def main() -> None:
    """Write ``leak_set.jsonl``."""
    items = [json.loads(line) for line in SUITE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [it["id"] for it in items] == list(PARAPHRASES), "law_ec changed: update PARAPHRASES"
    rows = [planted(row, i, item) for row in ROWS for i, item in enumerate(items)]
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} records -> {OUT}")


if __name__ == "__main__":
    main()
