"""python src/sftlab/assets/legal_docs/make_legal_docs.py

Writes a few short Spanish legal-style documents for the dataset builder's examples and tests,
in each format the builder reads: a plain-text law extract and a Markdown regulation with
``Art. N.-`` headings, an HTML guide without articles (paragraph chunking), and a two-page PDF
whose third article runs across the page break (page provenance).

The text was written for this project in the style of Ecuadorian tax law; it is not the text
of any law and is not legal advice. Standard library only (the PDF is written by hand with the
standard Helvetica font), so the output is byte-for-byte reproducible.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

LEY = """LEY DE EJEMPLO DE RÉGIMEN TRIBUTARIO INTERNO (extracto redactado para pruebas)

TÍTULO I
DEL IMPUESTO A LA RENTA

Art. 1.- Objeto del impuesto.- Establécese el impuesto a la renta global que obtengan las personas naturales, las sucesiones indivisas y las sociedades, nacionales o extranjeras, de acuerdo con las disposiciones de la presente Ley.

Art. 2.- Concepto de renta.- Para efectos de este impuesto se considera renta el ingreso de fuente ecuatoriana obtenido a título gratuito u oneroso, bien sea que provenga del trabajo, del capital o de ambas fuentes, consistente en dinero, especies o servicios.

Art. 3.- Sujeto activo.- El sujeto activo de este impuesto es el Estado, que lo administrará a través del Servicio de Rentas Internas.

Art. 4.- Sujetos pasivos.- Son sujetos pasivos del impuesto a la renta las personas naturales, las sucesiones indivisas y las sociedades que obtengan ingresos gravados, quienes deberán llevar registros de sus ingresos y gastos y presentar su declaración en los plazos que fije el reglamento.

Art. 5.- Gastos personales.- Las personas naturales podrán deducir de sus ingresos los gastos personales de vivienda, alimentación, vestimenta, educación y salud, siempre que estén respaldados por comprobantes de venta válidos emitidos a su nombre.

Art. 6.- Ejercicio impositivo.- El ejercicio impositivo es anual y comprende el lapso que va del 1 de enero al 31 de diciembre. Cuando la actividad generadora de la renta se inicie en fecha posterior, el ejercicio concluirá igualmente el 31 de diciembre de cada año.
"""

REGLAMENTO = """# Reglamento de ejemplo de comprobantes de venta (extracto redactado para pruebas)

## Capítulo I: Disposiciones generales

Art. 1.- Comprobantes de venta.- Son comprobantes de venta las facturas, las notas de venta, los tiquetes de máquinas registradoras y los demás documentos autorizados por el Servicio de Rentas Internas que acrediten la transferencia de bienes o la prestación de servicios.

Art. 2.- Obligación de emitir.- Están obligados a emitir comprobantes de venta todos los sujetos pasivos, en toda transferencia de bienes o prestación de servicios, aun cuando dichas operaciones no se encuentren gravadas con impuestos.

Art. 3.- Facturación electrónica.- Los contribuyentes que el Servicio de Rentas Internas designe deberán emitir sus comprobantes de manera electrónica, enviarlos para su autorización y entregar al comprador una representación impresa o digital.

Art. 4.- Conservación.- Los comprobantes de venta emitidos y recibidos deberán conservarse durante el plazo de siete años, en archivo físico o electrónico, y presentarse cuando la administración tributaria los requiera.
"""

GUIA = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Guía de ejemplo para el contribuyente</title>
<style>body { font-family: sans-serif; }</style></head>
<body>
<h1>Guía de ejemplo para el contribuyente</h1>
<p>Esta guía, redactada para pruebas, resume en palabras sencillas cómo se inscribe una persona en el Registro Único de Contribuyentes antes de empezar una actividad económica por cuenta propia.</p>
<p>Para inscribirse se necesita el documento de identidad, un correo electrónico y la dirección donde se realizará la actividad. El trámite puede hacerse en línea o en una oficina de atención al público.</p>
<p>Una vez inscrita, la persona debe emitir comprobantes de venta por cada venta o servicio y presentar sus declaraciones en las fechas que correspondan según el noveno dígito de su número de registro.</p>
<script>var ignored = "este texto no es visible";</script>
</body></html>
"""

CODIGO_PAGES = [
    [
        "CODIGO DE EJEMPLO TRIBUTARIO (extracto redactado para pruebas)",
        "",
        "Art. 1.- Ambito de aplicacion.- Los preceptos de este Codigo regulan las",
        "relaciones juridicas provenientes de los tributos entre los sujetos activos",
        "y los contribuyentes o responsables de aquellos.",
        "",
        "Art. 2.- Prescripcion de la accion de cobro.- La obligacion y la accion de",
        "cobro de los creditos tributarios prescribiran en el plazo de cinco anos,",
        "contados desde la fecha en que fueron exigibles.",
        "",
        "Art. 3.- Intereses a cargo del sujeto pasivo.- La obligacion tributaria que",
        "no fuera satisfecha en el tiempo que la ley establece causara a favor del",
    ],
    [
        "sujeto activo un interes anual equivalente a la tasa que fije la autoridad",
        "monetaria, desde la fecha de su exigibilidad hasta la de su extincion.",
        "",
        "Art. 4.- Reclamos.- Los contribuyentes que se creyeren afectados por un acto",
        "de la administracion tributaria podran presentar su reclamo dentro del plazo",
        "de veinte dias, contados desde el dia habil siguiente al de la notificacion.",
    ],
]


def _pdf_escape(line: str) -> bytes:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("cp1252")


def write_pdf(path: Path, pages: list[list[str]]) -> None:
    """A minimal valid PDF: one Helvetica text stream per page (what pypdf reads back)."""
    objects: list[bytes] = []
    n_pages = len(pages)
    page_ids = [3 + 2 * i for i in range(n_pages)]
    font_id = 3 + 2 * n_pages
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids) + b"] /Count %d >>" % n_pages
    )
    for i, lines in enumerate(pages):
        stream = (
            b"BT /F1 10 Tf 12 TL 50 780 Td "
            + b" ".join(b"(" + _pdf_escape(x) + b") Tj T*" for x in lines)
            + b" ET"
        )
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (font_id, page_ids[i] + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for num, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def main() -> None:
    """Write the four documents next to this script."""
    (HERE / "ley_regimen_tributario_extracto.txt").write_text(LEY, encoding="utf-8")
    (HERE / "reglamento_comprobantes.md").write_text(REGLAMENTO, encoding="utf-8")
    (HERE / "guia_contribuyente.html").write_text(GUIA, encoding="utf-8")
    write_pdf(HERE / "codigo_tributario_extracto.pdf", CODIGO_PAGES)


if __name__ == "__main__":
    main()
