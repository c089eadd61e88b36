"""Text generation: decoding methods (our contrastive search), prompt formats, prompt suites,
and the chat-completion clients shared by the judge and the dataset builder.

Imports: ``sftlab.model`` and below.
"""
