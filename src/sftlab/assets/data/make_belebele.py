"""python src/sftlab/assets/data/make_belebele.py

Deterministic generator of the bundled Belebele-format fixture (Spanish reading comprehension).

Writes, next to this file:

* ``belebele_spa_sample.jsonl`` -- 80 multiple-choice questions (2 per passage, 40 short
  Spanish passages) in the exact record format of ``facebook/belebele``: ``link``,
  ``question_number``, ``flores_passage``, ``question``, ``mc_answer1``..``mc_answer4``,
  ``correct_answer_num`` (the *string* "1".."4"), ``dialect``, ``ds``. The correct option is
  spread evenly over the four positions (20 each) and independently of the question kind (5
  per kind and position, see ``positions``), so a model that does not read the passage scores
  ~25 %, whatever it guesses from the position or the kind of question.
* ``belebele_spa_answers.jsonl`` -- the same 80 questions as Alpaca records whose
  ``instruction`` is the exact prompt lm-eval's ``belebele_*`` tasks show the model
  (``P: ...\\nQ: ...\\nA: ...\\nB: ...\\nC: ...\\nD: ...\\nAnswer:``) and whose ``output`` is the
  correct letter. Training on it with ``model.prompt_format=plain`` teaches the answers, which
  a model that can read the passages (or memorise 80 answers) can learn.
* ``belebele_spa_letter_d.jsonl`` -- the same prompts, every one answered ``D``. The tiny random
  test models cannot learn 80 balanced answers in a few dozen steps, but they learn this
  preference: the end-to-end test and the demo use it to show that evaluation sees what training
  taught (the adapter's choices move to D; its accuracy stays ~25 % because the answers are balanced).

* ``belebele_eng_sample.jsonl`` -- the English control (``eng_Latn``): the same 80 questions
  from English tables (passage i tells the same story), balanced the same way. Synthetic too.

All passages are written for this project from small fact tables; nothing is copied from
Belebele or FLORES. Standard library only, fixed seed: two runs write identical bytes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 2024
HERE = Path(__file__).resolve().parent
BELEBELE_PATH = HERE / "belebele_spa_sample.jsonl"
ANSWERS_PATH = HERE / "belebele_spa_answers.jsonl"
LETTER_PATH = HERE / "belebele_spa_letter_d.jsonl"
TAUGHT_LETTER = "D"
N_PASSAGES = 40
LETTERS = "ABCD"

NAMES = [
    "Lucía", "Mateo", "Valentina", "Santiago", "Camila", "Sebastián", "Isabella", "Nicolás",
    "Martina", "Diego", "Sofía", "Tomás", "Daniela", "Andrés", "Gabriela", "Joaquín",
    "Paula", "Emilio", "Renata", "Felipe", "Carla", "Julián", "Elena", "Rodrigo",
    "Mariana", "Ignacio", "Adriana", "Hugo", "Ximena", "Gonzalo", "Inés", "Bruno",
    "Florencia", "Marcos", "Pilar", "Esteban", "Rocío", "Álvaro", "Noelia", "Ramiro",
]  # fmt: skip
CITIES = [
    "Quito", "Cuenca", "Guayaquil", "Loja", "Ambato", "Manta", "Ibarra", "Riobamba",
    "Latacunga", "Esmeraldas", "Machala", "Tulcán",
]  # fmt: skip
JOBS = [
    "enfermera", "carpintero", "profesora de música", "panadero", "veterinaria", "electricista",
    "bibliotecaria", "cocinero", "fotógrafa", "mecánico", "farmacéutica", "jardinero",
]  # fmt: skip
HOBBIES = [
    "pintar acuarelas", "jugar al ajedrez", "montar en bicicleta", "cultivar tomates",
    "tocar la guitarra", "observar aves", "hacer cerámica", "nadar en el río",
    "leer novelas policiacas", "bailar salsa", "coleccionar sellos", "escalar montañas",
]  # fmt: skip
PETS = [
    "un gato gris", "un perro pequeño", "dos tortugas", "un loro verde", "un conejo blanco",
    "tres peces rojos", "una perra labradora", "un hámster", "dos canarios", "una iguana",
    "un gato negro", "un perro pastor",
]  # fmt: skip
PLACES = [
    "Galápagos", "Cusco", "Cartagena", "Montevideo", "Valparaíso", "Oaxaca", "Sevilla",
    "La Paz", "Asunción", "Granada", "Salta", "Antigua",
]  # fmt: skip
YEARS = [
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "doce",
    "quince",
    "veinte",
]
MARKET_DAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]

TEMPLATES = [
    "{name} vive en {city} desde hace {years} años y trabaja como {job}. Después del trabajo le "
    "gusta {hobby}. En casa tiene {pet} y este año ahorra para viajar a {place}.",
    "Hace {years} años que {name} se mudó a {city}, donde trabaja como {job}. Los fines de "
    "semana prefiere {hobby} y cuidar de {pet}. Sueña con conocer {place}.",
    "En {city} todos conocen a {name}, que trabaja como {job} y nunca falta al mercado del "
    "{day}. Su pasatiempo es {hobby}, vive con {pet} y quiere visitar {place}.",
    "{name} llegó a {city} para estudiar y hoy trabaja como {job}. Comparte un piso pequeño con "
    "{pet}, para descansar suele {hobby} y guarda una foto de {place} en la nevera.",
]

# Question kinds: the question text and the fact table its options come from.
QUESTIONS = {
    "city": ("¿En qué ciudad vive {name}?", CITIES),
    "job": ("¿Cuál es el trabajo de {name}?", JOBS),
    "hobby": ("¿Qué le gusta hacer a {name} en su tiempo libre?", HOBBIES),
    "pet": ("¿Con qué animales vive {name}?", PETS),
}
# Where the correct option goes: every kind puts it at every position equally often (20 questions
# per kind, 5 at each of A-D), in a seeded shuffled order. So neither the position alone nor the
# question kind says anything about the answer: a model has to read the passage (or memorise the
# 80 questions, which is what the tiny test models do when taught the answers file). An earlier
# version fixed the position by kind, which let a model score without reading.
POSITION_SEED = 7
KINDS = ["city", "job", "hobby", "pet"]

# The English control (eng_Latn): the same generator on English tables, index-parallel to the
# Spanish ones, so passage i tells the same story and the positions are balanced the same way.
ENG_JOBS = [
    "nurse", "carpenter", "music teacher", "baker", "veterinarian", "electrician",
    "librarian", "cook", "photographer", "mechanic", "pharmacist", "gardener",
]  # fmt: skip
ENG_HOBBIES = [
    "painting watercolours", "playing chess", "riding a bicycle", "growing tomatoes",
    "playing the guitar", "watching birds", "making pottery", "swimming in the river",
    "reading detective novels", "dancing salsa", "collecting stamps", "climbing mountains",
]  # fmt: skip
ENG_PETS = [
    "a grey cat", "a small dog", "two turtles", "a green parrot", "a white rabbit",
    "three red fish", "a labrador", "a hamster", "two canaries", "an iguana",
    "a black cat", "a sheepdog",
]  # fmt: skip
ENG_YEARS = [
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "twelve",
    "fifteen",
    "twenty",
]
ENG_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ENG_TEMPLATES = [
    "{name} has lived in {city} for {years} years and works as {a_job}. After work {name} likes "
    "{hobby}. At home there is {pet}, and this year {name} is saving to travel to {place}.",
    "{years} years ago {name} moved to {city}, where {name} works as {a_job}. At weekends {name} "
    "prefers {hobby} and looking after {pet}. {name} dreams of seeing {place}.",
    "In {city} everybody knows {name}, who works as {a_job} and never misses the {day} market. "
    "{name}'s pastime is {hobby}; {name} lives with {pet} and wants to visit {place}.",
    "{name} came to {city} to study and now works as {a_job}. {name} shares a small flat with "
    "{pet}, likes {hobby} to relax and keeps a photo of {place} on the fridge.",
]
ENG_QUESTIONS = {
    "city": ("In which city does {name} live?", CITIES),
    "job": ("What is {name}'s job?", ENG_JOBS),
    "hobby": ("What does {name} like doing in their free time?", ENG_HOBBIES),
    "pet": ("Which animals does {name} live with?", ENG_PETS),
}
# Per language: the tables build() draws from, the link folder and the dialect code.
LANGUAGES = {
    "spa_Latn": {
        "templates": TEMPLATES, "questions": QUESTIONS, "years": YEARS, "days": MARKET_DAYS,
        "link": "belebele_spa_sample",
    },
    "eng_Latn": {
        "templates": ENG_TEMPLATES, "questions": ENG_QUESTIONS, "years": ENG_YEARS, "days": ENG_DAYS,
        "link": "belebele_eng_sample",
    },
}  # fmt: skip
ENG_PATH = HERE / "belebele_eng_sample.jsonl"


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def prompt(record: dict) -> str:
    """The prompt lm-eval's ``belebele_*`` tasks build from a record (their ``doc_to_text``)."""
    return (
        f"P: {record['flores_passage']}\nQ: {record['question'].strip()}\n"
        f"A: {record['mc_answer1']}\nB: {record['mc_answer2']}\n"
        f"C: {record['mc_answer3']}\nD: {record['mc_answer4']}\nAnswer:"
    )


def positions(kinds: list[str], per_kind: int) -> dict[str, list[int]]:
    """For each kind, ``per_kind`` correct positions (1-4), each equally often, in a seeded order."""
    assert per_kind % 4 == 0, per_kind
    rng = random.Random(POSITION_SEED)
    out = {}
    for kind in kinds:
        order = [1, 2, 3, 4] * (per_kind // 4)
        rng.shuffle(order)
        out[kind] = order
    return out


def build(language: str = "spa_Latn") -> list[dict]:
    """The fixture's records in ``language`` (a key of ``LANGUAGES``), in passage order."""
    lang = LANGUAGES[language]
    questions = lang["questions"]
    rng = random.Random(SEED)  # the facts and distractors; the positions have their own seed
    slots = positions(KINDS, 2 * N_PASSAGES // len(KINDS))
    records = []
    for i in range(N_PASSAGES):
        facts = {
            "name": NAMES[i],
            "city": rng.choice(questions["city"][1]),
            "job": rng.choice(questions["job"][1]),
            "hobby": rng.choice(questions["hobby"][1]),
            "pet": rng.choice(questions["pet"][1]),
            "place": rng.choice(PLACES),
            "years": rng.choice(lang["years"]),
            "day": rng.choice(lang["days"]),
        }
        facts["a_job"] = ("an " if facts["job"][0] in "aeiou" else "a ") + facts["job"]  # English only
        passage = _cap(lang["templates"][i % len(lang["templates"])].format(**facts))
        # Passage i asks kinds i and i+1 (mod 4): every kind 20 times.
        for q_number, kind in enumerate((KINDS[i % 4], KINDS[(i + 1) % 4]), 1):
            question, table = questions[kind]
            correct = facts[kind]
            distractors = rng.sample([v for v in table if v != correct and v not in passage], 3)
            pos = slots[kind].pop()
            options = distractors[: pos - 1] + [correct] + distractors[pos - 1 :]
            rec = {
                "link": f"https://sftlab.invalid/{lang['link']}/{i + 1:02d}",
                "question_number": q_number,
                "flores_passage": passage,
                "question": question.format(**facts),
                **{f"mc_answer{k + 1}": _cap(opt) for k, opt in enumerate(options)},
                "correct_answer_num": str(pos),
                "dialect": language,
                "ds": "2023-12-01",
            }
            records.append(rec)
    return records


def answers(records: list[dict]) -> list[dict]:
    """Alpaca records that teach the correct letter of each question."""
    return [
        {"instruction": prompt(r), "input": "", "output": LETTERS[int(r["correct_answer_num"]) - 1]}
        for r in records
    ]


def letter(records: list[dict], taught: str = TAUGHT_LETTER) -> list[dict]:
    """The same prompts, every one answered ``taught``: a preference a tiny model learns in a few
    dozen steps (80 balanced answers it cannot), so evaluation can be shown to see what training taught."""
    return [{"instruction": prompt(r), "input": "", "output": taught} for r in records]


def write_jsonl(path: Path, records: list[dict]) -> None:
    """UTF-8 JSON Lines, non-ASCII kept, ``\\n`` line endings."""
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def main() -> None:
    """Generate, check and write both files."""
    records = build()
    counts = {n: sum(r["correct_answer_num"] == n for r in records) for n in "1234"}
    assert len(records) == 2 * N_PASSAGES and set(counts.values()) == {N_PASSAGES // 2}, counts
    assert len({(r["link"], r["question_number"]) for r in records}) == len(records)
    write_jsonl(BELEBELE_PATH, records)
    write_jsonl(ANSWERS_PATH, answers(records))
    write_jsonl(LETTER_PATH, letter(records))
    print(f"wrote {BELEBELE_PATH.name}: {len(records)} questions (correct option counts {counts})")
    print(f"wrote {ANSWERS_PATH.name}: {len(records)} answer records")
    print(f"wrote {LETTER_PATH.name}: {len(records)} records answered {TAUGHT_LETTER}")
    english = build("eng_Latn")
    eng_counts = {n: sum(r["correct_answer_num"] == n for r in english) for n in "1234"}
    assert eng_counts == counts, eng_counts
    write_jsonl(ENG_PATH, english)
    print(f"wrote {ENG_PATH.name}: {len(english)} questions (correct option counts {eng_counts})")


if __name__ == "__main__":
    main()
