"""Readers for the structured formats: each turns bytes into pages of blocks (headings,
paragraphs, list items, tables, notes), rendered once as plain text and once as Markdown."""
