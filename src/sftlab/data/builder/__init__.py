"""Build a question/answer training set from a folder of documents with a generator LLM.

documents (read PDF/txt/md/html) -> chunking (on ``Art. N.-`` boundaries) -> prompts
(versioned) -> the generator (``generator``: the chat backends of ``sftlab.generate.llm_client``, shared
with the judge) -> replies (parse + validate) -> build (resume, retries, dedup, provenance,
JSONL) -> review (CSV keep/fix/drop round trip).
"""
