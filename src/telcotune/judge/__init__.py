"""Judges that score a support assistant's answers."""
