"""python src/sftlab/assets/data/make_mix_fixtures.py

Writes two small files in the exact record formats of the public Spanish datasets the study
mixed, so normalizing, mixing, dedup and length filtering are tested offline:

* ``alpaca_es_sample.jsonl`` -- the format of ``bertin-project/alpaca-spanish``
  (``instruction``, ``input``, ``output``): 24 distinct records, 2 duplicates of them (one
  verbatim, one differing only in case/punctuation), 1 with an empty output, 1 very long one.
* ``dolly_es_sample.jsonl`` -- the format of ``argilla/databricks-dolly-15k-curated-multilingual``
  split ``es`` (``instruction``, ``context``, ``response``, ``category``): 16 distinct records,
  1 repeating an Alpaca instruction, 1 with an empty response.

All text was written for this project. Standard library only; deterministic output.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

ALPACA = [
    (
        "Da tres consejos para mantenerse saludable.",
        "",
        "1. Come una dieta equilibrada con frutas y verduras. 2. Haz ejercicio con regularidad. 3. Duerme lo suficiente.",
    ),
    (
        "¿Cuáles son los tres colores primarios?",
        "",
        "Los tres colores primarios son el rojo, el azul y el amarillo.",
    ),
    (
        "Describe la estructura de un átomo.",
        "",
        "Un átomo tiene un núcleo con protones y neutrones, rodeado por electrones que se mueven en orbitales.",
    ),
    ("Traduce la frase al español.", "The weather is nice today.", "Hoy hace buen tiempo."),
    ("Clasifica el siguiente animal como mamífero, ave o reptil.", "Águila", "El águila es un ave."),
    ("Escribe un sinónimo de la palabra dada.", "feliz", "Un sinónimo de «feliz» es «contento»."),
    (
        "Resume el texto en una oración.",
        "La biblioteca municipal amplió su horario. Ahora abre los sábados y domingos por la mañana.",
        "La biblioteca municipal ahora también abre los fines de semana por la mañana.",
    ),
    ("Calcula el área de un rectángulo de 4 por 6 metros.", "", "El área es 4 × 6 = 24 metros cuadrados."),
    (
        "Explica qué es la fotosíntesis.",
        "",
        "La fotosíntesis es el proceso por el que las plantas usan la luz solar, el agua y el dióxido de carbono para producir glucosa y oxígeno.",
    ),
    ("Convierte la temperatura a grados Fahrenheit.", "25 °C", "25 °C equivalen a 77 °F."),
    ("Genera una lista de cinco frutas tropicales.", "", "Mango, piña, papaya, maracuyá y guanábana."),
    (
        "Corrige la ortografía de la oración.",
        "Ayer fuimos a la plalla y nadamos mucho.",
        "Ayer fuimos a la playa y nadamos mucho.",
    ),
    (
        "¿Quién escribió «Cien años de soledad»?",
        "",
        "«Cien años de soledad» fue escrita por Gabriel García Márquez.",
    ),
    (
        "Escribe un eslogan para una panadería de barrio.",
        "",
        "«Pan recién hecho, como en casa, a la vuelta de la esquina.»",
    ),
    ("Identifica el verbo en la oración.", "Los niños juegan en el parque.", "El verbo es «juegan»."),
    ("Nombra tres instrumentos de cuerda.", "", "La guitarra, el violín y el arpa."),
    (
        "¿Por qué el cielo es azul?",
        "",
        "Porque la atmósfera dispersa más la luz azul del sol que los otros colores; es la dispersión de Rayleigh.",
    ),
    ("Ordena los números de menor a mayor.", "42, 7, 19, 3", "3, 7, 19, 42."),
    ("Escribe el plural de la palabra.", "lápiz", "El plural de «lápiz» es «lápices»."),
    ("Da un ejemplo de energía renovable.", "", "La energía solar es un ejemplo de energía renovable."),
    (
        "Redacta un saludo formal para un correo electrónico.",
        "",
        "Estimado señor Pérez: reciba un cordial saludo.",
    ),
    ("¿Cada cuántos años hay un año bisiesto?", "", "Por regla general, cada cuatro años."),
    (
        "Indica si la afirmación es verdadera o falsa.",
        "El agua hierve a 100 °C al nivel del mar.",
        "Verdadera: al nivel del mar el agua hierve a 100 °C.",
    ),
    (
        "Resume el siguiente texto en dos oraciones.",
        " ".join(
            [
                "El río que atraviesa la ciudad nace en las montañas del norte y recorre valles, bosques y llanuras antes de llegar al mar."
            ]
            * 12
        ),
        "El río nace en las montañas del norte y atraviesa la ciudad. Recorre valles, bosques y llanuras hasta el mar.",
    ),
]
ALPACA_EXTRA = [
    ALPACA[1],  # verbatim duplicate
    (
        "da tres consejos para mantenerse saludable",
        "",
        "Aliméntate bien, muévete todos los días y descansa.",
    ),  # same question, other case/punctuation
    ("Escribe un haiku sobre la lluvia.", "", ""),  # empty output: dropped by the normalizer
]

DOLLY = [
    (
        "¿Qué es un volcán?",
        "",
        "Un volcán es una abertura de la corteza terrestre por la que sale magma, ceniza y gases.",
        "open_qa",
    ),
    (
        "¿Cuándo se fundó la ciudad según el texto?",
        "La ciudad fue fundada en 1534 por colonos españoles sobre un antiguo asentamiento indígena.",
        "Según el texto, la ciudad se fundó en 1534.",
        "closed_qa",
    ),
    (
        "Clasifica cada uno como fruta o verdura: manzana, zanahoria, pera, lechuga.",
        "",
        "Frutas: manzana y pera. Verduras: zanahoria y lechuga.",
        "classification",
    ),
    (
        "Dame ideas para un cumpleaños infantil.",
        "",
        "Una búsqueda del tesoro, un taller de pintura, una piñata y un picnic en el parque.",
        "brainstorming",
    ),
    (
        "Resume el párrafo.",
        "El tren nocturno une las dos ciudades en ocho horas. Tiene camarotes, vagón restaurante y llega al amanecer.",
        "Un tren nocturno con camarotes y restaurante une las dos ciudades en ocho horas.",
        "summarization",
    ),
    (
        "Escribe una historia corta sobre un gato curioso.",
        "",
        "Mishi encontró una caja en el desván. Dentro había un ovillo de lana, y pasó la tarde persiguiéndolo.",
        "creative_writing",
    ),
    (
        "Extrae los nombres de los países del texto.",
        "El congreso reunió a delegados de Chile, Perú y Bolivia.",
        "Chile, Perú y Bolivia.",
        "information_extraction",
    ),
    (
        "¿Qué diferencia hay entre clima y tiempo?",
        "",
        "El tiempo describe la atmósfera en un momento concreto; el clima, su comportamiento medio durante años.",
        "general_qa",
    ),
    ("¿Cuál es el río más largo de América del Sur?", "", "El río Amazonas.", "open_qa"),
    (
        "¿Qué cargo ocupaba la autora según el texto?",
        "María López fue directora del museo nacional entre 2010 y 2018.",
        "Era directora del museo nacional.",
        "closed_qa",
    ),
    (
        "Clasifica estos animales en acuáticos o terrestres: delfín, caballo, pulpo, zorro.",
        "",
        "Acuáticos: delfín y pulpo. Terrestres: caballo y zorro.",
        "classification",
    ),
    (
        "Propón nombres para una cafetería.",
        "",
        "Café del Parque, La Taza Alegre, Grano de Oro.",
        "brainstorming",
    ),
    (
        "Resume la noticia en una frase.",
        "El ayuntamiento plantará dos mil árboles este año en los barrios con menos zonas verdes.",
        "El ayuntamiento plantará dos mil árboles en los barrios con menos zonas verdes.",
        "summarization",
    ),
    (
        "Escribe un poema de cuatro versos sobre el mar.",
        "",
        "El mar canta al amanecer,\nlas olas vienen a volver,\nla espuma borda la arena,\ny la tarde se serena.",
        "creative_writing",
    ),
    (
        "Extrae las fechas del texto.",
        "La feria empieza el 3 de mayo y termina el 10 de mayo.",
        "3 de mayo y 10 de mayo.",
        "information_extraction",
    ),
    (
        "¿Por qué se recomienda beber agua a menudo?",
        "",
        "Porque el cuerpo pierde agua continuamente y la necesita para regular la temperatura y funcionar bien.",
        "general_qa",
    ),
]
DOLLY_EXTRA = [
    ("¿Cuáles son los tres colores primarios?", "", "Rojo, azul y amarillo.", "open_qa"),  # also in Alpaca
    ("Nombra un planeta gaseoso.", "", "", "open_qa"),  # empty response: dropped
]


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    """Write both files next to this script."""
    _write(
        HERE / "alpaca_es_sample.jsonl",
        [{"instruction": i, "input": x, "output": o} for i, x, o in ALPACA + ALPACA_EXTRA],
    )
    _write(
        HERE / "dolly_es_sample.jsonl",
        [
            {"instruction": i, "context": c, "response": r, "category": k}
            for i, c, r, k in DOLLY + DOLLY_EXTRA
        ],
    )


if __name__ == "__main__":
    main()
