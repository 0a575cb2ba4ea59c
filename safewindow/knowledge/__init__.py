"""The knowledge base as data files (YAML, Markdown) and the loader that validates them."""
