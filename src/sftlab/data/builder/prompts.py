"""Versioned prompts for the generator. A prompt never changes once used: write a new version.

The version is stored with every generated pair, so a dataset says which instructions made it.
``sri_qa_v1`` follows the study: read an official tax document and write, in Spanish, the
questions ordinary people ask about everyday problems it answers, as JSON objects with
``instruction`` (the question), an empty ``input`` and ``output`` (the answer).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sftlab.config.errors import ConfigError


@dataclass(frozen=True)
class Prompt:
    """A system message and a user template with ``{n}``, ``{source}``, ``{location}``, ``{text}``."""

    version: str
    system: str
    user: str

    @property
    def sha(self) -> str:
        """Hash of the prompt's text, stored beside the version."""
        return hashlib.sha256((self.system + "\x00" + self.user).encode()).hexdigest()[:12]

    def messages(self, chunk, n: int) -> list[dict]:
        """Chat messages asking for ``n`` pairs about ``chunk``."""
        location = (
            ", ".join(x for x in (chunk.article, f"página {chunk.page}" if chunk.page else None) if x)
            or "fragmento"
        )
        return [
            {"role": "system", "content": self.system},
            {
                "role": "user",
                "content": self.user.format(
                    n=n, source=chunk.source_file, location=location, text=chunk.text
                ),
            },
        ]


PROMPTS: dict[str, Prompt] = {
    "sri_qa_v1": Prompt(
        version="sri_qa_v1",
        system=(
            "Eres un experto en tributación ecuatoriana y en la normativa del Servicio de Rentas "
            "Internas (SRI). Escribes material de estudio claro y correcto en español."
        ),
        user=(
            "Lee el siguiente fragmento de un documento oficial ({source}, {location}).\n\n"
            "Escribe {n} preguntas que una persona común se haría sobre problemas cotidianos que este "
            "fragmento ayuda a resolver, y responde cada una en español, de forma precisa y basada solo "
            "en el fragmento.\n\n"
            'Responde ÚNICAMENTE con un arreglo JSON de objetos con las claves "instruction" (la '
            'pregunta), "input" (siempre la cadena vacía "") y "output" (la respuesta), sin texto '
            "adicional.\n\n"
            'Fragmento:\n"""\n{text}\n"""'
        ),
    ),
}


def chunk_text(messages: list[dict]) -> str | None:
    """The chunk a request built by :meth:`Prompt.messages` asks about (inside the last pair of
    triple quotes of the user message), or None. Offline generators key their replies on it."""
    user = [m.get("content", "") for m in messages if m.get("role") == "user"]
    parts = user[-1].split('"""') if user else []
    return parts[-2].strip() if len(parts) >= 3 else None


def get_prompt(version: str) -> Prompt:
    """The prompt ``version``; a ConfigError lists the known versions."""
    if version not in PROMPTS:
        raise ConfigError(f"prompt.version: unknown prompt '{version}'; choose one of {', '.join(PROMPTS)}")
    return PROMPTS[version]
