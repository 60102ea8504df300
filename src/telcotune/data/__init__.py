"""The data stage: glossary -> scenarios -> synthetic conversations -> validated, de-duplicated,
split by scenario."""
