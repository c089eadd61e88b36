"""Training and evaluation data: read, normalize, mix, filter, split, leak-check; token lengths;
the document -> question/answer builder (``data.builder``).

Inside: ``records`` (reading), ``leak_suites`` <- ``leak_check`` <- ``mixing`` <- ``loading`` (the datasets a run
trains on). Imports: ``sftlab.generate`` (prompt formats, chat clients) and below.
"""
